import type { Logger } from '@ehrflow/logging';
import type { Pool } from 'pg';
import { INFRA_TABLES } from './ddl.ts';
import { qualified } from './names.ts';
import { toDatabaseError } from '@ehrflow/service/database';
import { positionKey } from './positions.ts';

export interface MarkerPositionsDeps {
  readonly pool: Pool;
  readonly schema: string;
  readonly groupId: string;
  /** The loader's in-memory copy of the stored positions, updated on success. */
  readonly positions: Map<string, bigint>;
  readonly log: Logger;
}

/**
 * Positions past batches that hold only transaction markers (or aborted records). kafkajs never
 * hands such a batch to `eachBatch`, so without this the stored position of a partition written
 * by a transactional producer would stay one marker behind its end and the loader would show lag
 * forever. Every record before such a batch was already loaded (kafkajs fetches a partition only
 * after its previous batch was handled), so moving the position up to the batch end is safe; the
 * update only ever raises a position.
 */
export function createMarkerPositions(deps: MarkerPositionsDeps) {
  const pending = new Map<string, { topic: string; partition: number; next: bigint }>();
  return {
    /** Remembers the end of a marker-only batch (from kafkajs' START_BATCH_PROCESS event). */
    note(topic: string, partition: number, lastOffset: string): void {
      pending.set(positionKey(topic, partition), { topic, partition, next: BigInt(lastOffset) + 1n });
    },
    /** Stores what was noted; a failure is logged and the position is raised by the next batch anyway. */
    async flush(): Promise<void> {
      const work = [...pending.values()];
      pending.clear();
      for (const p of work) {
        try {
          const res = await deps.pool.query(
            `UPDATE ${qualified(deps.schema, INFRA_TABLES.offsets)} SET next_offset = $4, updated_at = now()
              WHERE group_id = $1 AND topic = $2 AND partition = $3 AND next_offset < $4`,
            [deps.groupId, p.topic, p.partition, p.next.toString()],
          );
          if ((res.rowCount ?? 0) > 0) deps.positions.set(positionKey(p.topic, p.partition), p.next);
        } catch (err) {
          deps.log.warn(
            { err: toDatabaseError(err, 'marker position') },
            'could not store a position past transaction markers',
          );
        }
      }
    },
  };
}
