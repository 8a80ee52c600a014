import type { ErrorCode } from '@ehrflow/errors';
import type { Pool } from 'pg';
import { INFRA_TABLES } from './ddl.ts';
import type { WriteResult } from './merge-sql.ts';
import { qualified } from './names.ts';
import { inTransaction } from '@ehrflow/service/database';
import { lockPosition, storePosition } from './positions.ts';
import { toRows, type CleanRecord } from './rows.ts';
import type { TableModel } from './table-model.ts';
import type { Writer } from './writers.ts';

/** A decoded clean record at its offset. */
export interface BatchRecord extends CleanRecord {
  readonly offset: string;
}

/** A record that could not be decoded: recorded in `loader_rejects`, never dropped silently. */
export interface RejectedRecord {
  readonly offset: string;
  readonly code: ErrorCode;
  readonly schemaId: number | null;
  readonly raw: Buffer | null;
}

/** The records of consumed messages, decoded, and those that could not be (in offset order). */
export interface DecodedSlice {
  readonly records: readonly BatchRecord[];
  readonly rejected: readonly RejectedRecord[];
}

/** Consecutive records of one partition, in offset order. */
export interface PartitionBatch extends DecodedSlice {
  readonly topic: string;
  readonly partition: number;
  /**
   * The offset after which the next batch starts, minus one: the last record's offset, or later
   * when transaction markers follow it (they occupy offsets too).
   */
  readonly lastOffset: string;
}

/** Told after the rows and the position are written, before COMMIT (a test seam for failure injection). */
export type BeforeCommit = (info: {
  readonly topic: string;
  readonly partition: number;
  readonly rows: number;
}) => void | Promise<void>;

export interface BatchContext {
  readonly pool: Pool;
  readonly schema: string;
  readonly groupId: string;
  /** The table of every record, or the function that picks each record's table (a deletions batch spans tables). */
  readonly model: TableModel | ((record: BatchRecord) => TableModel);
  readonly writer: Writer;
  readonly beforeCommit?: BeforeCommit;
}

/** What became of a batch's records, one count each (the loader's counters and metrics). */
export const BATCH_OUTCOMES = ['upserted', 'deleted', 'ignored', 'skipped', 'rejected'] as const;

export interface BatchOutcome extends WriteResult {
  /** Records at or after the stored position (the ones written). */
  readonly fresh: number;
  /** Records below the stored position: loaded before (a redelivery after a crash or rebalance). */
  readonly skipped: number;
  readonly rejected: number;
  /** The stored position before this batch. */
  readonly storedBefore: bigint;
  /** The stored position after it. */
  readonly next: bigint;
}

/**
 * Loads one partition batch in ONE transaction: lock the partition's position, drop records
 * below it, write the rest (rows and ledger), record undecodable ones, advance the position,
 * commit. Rows and position commit together or not at all, which is the exactly-once argument:
 * after any crash the stored position names exactly the first record whose rows are not in the
 * table.
 *
 * @throws PipelineError DATABASE_UNAVAILABLE (retry the batch) or DATABASE_REJECTED.
 */
export async function loadBatch(ctx: BatchContext, batch: PartitionBatch): Promise<BatchOutcome> {
  return inTransaction(
    () => ctx.pool.connect(),
    'batch load',
    async (client) => {
      const stored = await lockPosition(client, ctx.schema, ctx.groupId, batch.topic, batch.partition);
      const fresh = batch.records.filter((r) => BigInt(r.offset) >= stored);
      const rejected = batch.rejected.filter((r) => BigInt(r.offset) >= stored);
      let written: WriteResult = { upserted: 0, deleted: 0, ignored: 0 };
      for (const [model, records] of byTable(fresh, ctx.model)) {
        const r = await ctx.writer.write(client, { schema: ctx.schema, model }, toRows(records));
        written = {
          upserted: written.upserted + r.upserted,
          deleted: written.deleted + r.deleted,
          ignored: written.ignored + r.ignored,
        };
      }
      if (rejected.length > 0) {
        await client.query(
          `INSERT INTO ${qualified(ctx.schema, INFRA_TABLES.rejects)} (topic, partition, "offset", error_code, schema_id, value)
         SELECT $1, $2, o, c, s, v FROM unnest($3::bigint[], $4::text[], $5::int[], $6::bytea[]) AS r(o, c, s, v)
         ON CONFLICT DO NOTHING`,
          [
            batch.topic,
            batch.partition,
            rejected.map((r) => r.offset),
            rejected.map((r) => r.code),
            rejected.map((r) => r.schemaId),
            rejected.map((r) => r.raw),
          ],
        );
      }
      const after = BigInt(batch.lastOffset) + 1n;
      const next = after > stored ? after : stored;
      if (next !== stored)
        await storePosition(client, ctx.schema, ctx.groupId, batch.topic, batch.partition, next);
      await ctx.beforeCommit?.({ topic: batch.topic, partition: batch.partition, rows: fresh.length });
      return {
        ...written,
        fresh: fresh.length,
        skipped: batch.records.length - fresh.length,
        rejected: rejected.length,
        storedBefore: stored,
        next,
      };
    },
  );
}

/** Records grouped by table, in first-seen order, each group in offset order. */
function byTable(
  records: readonly BatchRecord[],
  model: BatchContext['model'],
): Map<TableModel, BatchRecord[]> {
  const out = new Map<TableModel, BatchRecord[]>();
  if (records.length === 0) return out;
  if (typeof model !== 'function') return out.set(model, [...records]);
  for (const r of records) {
    const m = model(r);
    const list = out.get(m);
    if (list === undefined) out.set(m, [r]);
    else list.push(r);
  }
  return out;
}
