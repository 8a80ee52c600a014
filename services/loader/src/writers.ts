import type { PoolClient } from 'pg';
import { INFRA_TABLES } from './ddl.ts';
import {
  countingMerge,
  conflictClause,
  insertInto,
  rowValues,
  STAGING_COLUMNS,
  stagingSelectList,
  stagingValues,
  writtenColumns,
  type WriteResult,
} from './merge-sql.ts';
import { ident, qualified } from './names.ts';
import { copyFrom, copyLine } from './pg-copy.ts';
import type { LoadRow } from './rows.ts';
import { LOADER_COLUMNS, type TableModel } from './table-model.ts';

/**
 * How a batch reaches its table:
 * - `staging`: COPY the records (jsonb) into a session-local temporary table, then one
 *   `INSERT … SELECT <typed columns extracted from the jsonb> … ON CONFLICT DO UPDATE … WHERE newer`
 *   per round;
 * - `multirow`: multi-row `INSERT … VALUES (…), (…) ON CONFLICT …` statements with parameters.
 */
export type WriteMode = 'staging' | 'multirow';

export const WRITE_MODES: readonly WriteMode[] = ['staging', 'multirow'];

/** Writes one batch of rows, and their ledger entries, inside the caller's transaction. */
export interface Writer {
  readonly mode: WriteMode;
  write(client: PoolClient, target: WriteTarget, rows: readonly LoadRow[]): Promise<WriteResult>;
}

export interface WriteTarget {
  readonly schema: string;
  readonly model: TableModel;
}

/** Bumped when the staging table's columns change, so a pooled session never reuses an old shape. */
const STAGING_VERSION = 1;

export function createWriter(mode: WriteMode): Writer {
  switch (mode) {
    case 'staging':
      return { mode, write: writeStaging };
    case 'multirow':
      return { mode, write: writeMultirow };
  }
}

function maxRound(rows: readonly LoadRow[]): number {
  let max = 0;
  for (const r of rows) if (r.round > max) max = r.round;
  return max;
}

async function writeStaging(
  client: PoolClient,
  target: WriteTarget,
  rows: readonly LoadRow[],
): Promise<WriteResult> {
  const { schema, model } = target;
  const staging = [...STAGING_COLUMNS, ['_round', 'integer'] as const];
  // Session-local and emptied at every commit; created once per connection.
  const stageName = ident(`loader_stage_${STAGING_VERSION}`);
  const stage = `pg_temp.${stageName}`;
  await client.query(
    `CREATE TEMP TABLE IF NOT EXISTS ${stageName} (${staging.map(([c, t]) => `${ident(c)} ${t}`).join(', ')}) ON COMMIT DELETE ROWS`,
  );
  // Empty at the first write of a transaction; a deletions batch writes one table after another
  // in one transaction, and the previous table's rows must not be merged again.
  await client.query(`DELETE FROM ${stage}`);
  const now = new Date().toISOString();
  await copyFrom(
    client,
    `COPY ${stage} (${staging.map(([c]) => ident(c)).join(', ')}) FROM STDIN`,
    rows.map((r) => copyLine([...stagingValues(r, now), r.round])),
  );
  const select = `SELECT ${stagingSelectList(model)}, now() FROM ${stage} AS s WHERE s._round = $1`;
  const merge = countingMerge(`${insertInto(schema, model)}\n${select}\n${conflictClause(model)}`);
  let upserted = 0;
  let deleted = 0;
  for (let round = 1, last = maxRound(rows); round <= last; round++) {
    const res = await client.query<{ upserted: number; deleted: number }>(merge, [round]);
    upserted += res.rows[0]?.upserted ?? 0;
    deleted += res.rows[0]?.deleted ?? 0;
  }
  const r = ident(LOADER_COLUMNS.record);
  await client.query(
    `INSERT INTO ${qualified(schema, INFRA_TABLES.ledger)} (job_id, record_id, resource_type, kind)
     SELECT ${r} ->> 'jobId', ${r} ->> 'recordId', $1, CASE WHEN ${ident(LOADER_COLUMNS.deletedAt)} IS NULL THEN 'upsert' ELSE 'delete' END
       FROM ${stage}
     ON CONFLICT DO NOTHING`,
    [model.resourceType],
  );
  return { upserted, deleted, ignored: rows.length - upserted - deleted };
}

/** Bind parameters per statement: PostgreSQL's limit is 65 535; stay well below. */
const MAX_PARAMS = 30_000;

async function writeMultirow(
  client: PoolClient,
  target: WriteTarget,
  rows: readonly LoadRow[],
): Promise<WriteResult> {
  const { schema, model } = target;
  const width = writtenColumns(model).length;
  const perStatement = Math.max(1, Math.floor(MAX_PARAMS / width));
  const head = insertInto(schema, model);
  const conflict = conflictClause(model);
  const now = new Date().toISOString();
  let upserted = 0;
  let deleted = 0;
  for (let round = 1, last = maxRound(rows); round <= last; round++) {
    const inRound = rows.filter((r) => r.round === round);
    for (let start = 0; start < inRound.length; start += perStatement) {
      const chunk = inRound.slice(start, start + perStatement);
      const values: unknown[] = [];
      const tuples = chunk.map((r) => {
        const base = values.length;
        values.push(...rowValues(model, r, now));
        return `(${Array.from({ length: width }, (_, i) => `$${base + i + 1}`).join(', ')}, now())`;
      });
      const res = await client.query<{ upserted: number; deleted: number }>(
        countingMerge(`${head}\nVALUES ${tuples.join(', ')}\n${conflict}`),
        values,
      );
      upserted += res.rows[0]?.upserted ?? 0;
      deleted += res.rows[0]?.deleted ?? 0;
    }
  }
  const perLedger = Math.floor(MAX_PARAMS / 4);
  for (let start = 0; start < rows.length; start += perLedger) {
    const chunk = rows.slice(start, start + perLedger);
    const values: unknown[] = [];
    const tuples = chunk.map((r, i) => {
      values.push(r.jobId, r.recordId, model.resourceType, r.deleted ? 'delete' : 'upsert');
      return `($${i * 4 + 1}, $${i * 4 + 2}, $${i * 4 + 3}, $${i * 4 + 4})`;
    });
    await client.query(
      `INSERT INTO ${qualified(schema, INFRA_TABLES.ledger)} (job_id, record_id, resource_type, kind) VALUES ${tuples.join(', ')} ON CONFLICT DO NOTHING`,
      values,
    );
  }
  return { upserted, deleted, ignored: rows.length - upserted - deleted };
}
