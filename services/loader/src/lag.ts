import { toKafkaError, type LagAdmin, type PartitionLag } from '@ehrflow/kafka';
import type { Pool } from 'pg';
import { positionKey, readPositions } from './positions.ts';

export interface LoaderLagDeps {
  /** A connected kafkajs admin (or anything with `fetchTopicOffsets`). */
  readonly admin: Pick<LagAdmin, 'fetchTopicOffsets'>;
  readonly pool: Pool;
  /** The loader's database schema. */
  readonly schema: string;
  readonly groupId: string;
  readonly topics: readonly string[];
}

/**
 * Lag of the loader per partition. The loader keeps its positions in PostgreSQL, not in Kafka,
 * so `consumerLag` of `@ehrflow/kafka` (which reads the group's Kafka offsets) would always show
 * the whole topic: this reads `loader_offsets` instead. A partition without a stored position
 * counts from its earliest retained offset; before the loader first ran, every record is lag.
 */
export async function loaderLag(deps: LoaderLagDeps): Promise<PartitionLag[]> {
  let stored: Map<string, bigint>;
  try {
    stored = await readPositions(deps.pool, deps.schema, deps.groupId, deps.topics);
  } catch (err) {
    // The loader has not created its tables yet.
    if ((err as { context?: { sqlState?: unknown } }).context?.sqlState !== '42P01') throw err;
    stored = new Map();
  }
  const out: PartitionLag[] = [];
  for (const topic of deps.topics) {
    let ends;
    try {
      ends = await deps.admin.fetchTopicOffsets(topic);
    } catch (err) {
      throw toKafkaError(err, 'lag', { topic });
    }
    for (const { partition, high, low } of ends) {
      const at = stored.get(positionKey(topic, partition));
      const lag = BigInt(high) - (at ?? BigInt(low));
      out.push({
        topic,
        partition,
        lag: lag > 0n ? Number(lag) : 0,
        committed: at === undefined ? null : at.toString(),
        end: high,
      });
    }
  }
  return out.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}
