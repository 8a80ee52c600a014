import { LOADER_COLUMN_DDL, columnOf } from './ddl.ts';
import { ident, literal, qualified } from './names.ts';
import { columnValues, type LoadRow } from './rows.ts';
import { LOADER_COLUMNS, type ColumnModel, type TableModel } from './table-model.ts';

/**
 * The SQL shared by both write strategies. Version order: a record is newer when
 * (lastUpdated, numeric versionId, versionId text) is greater, a missing part counting as the
 * lowest value. An upsert applies only when strictly newer: older or equal ones are ignored, so
 * redelivery is harmless. A delete applies when newer or equal, and also when it carries no
 * version at all (a bulk-export `deleted` entry has none); the tombstone then keeps the higher of
 * the two version keys, so a redelivered old version cannot resurrect the row.
 */

/** Columns each written row supplies, in order: the contract's, then the loader's (not `_loaded_at`). */
export function writtenColumns(model: TableModel): string[] {
  return [...model.columns.map((c) => c.column), ...STAGING_COLUMNS.map(([name]) => name)];
}

/** The values of a row in {@link writtenColumns} order; `now` is the deletion time of a tombstone. */
export function rowValues(model: TableModel, row: LoadRow, now: string): unknown[] {
  return [...columnValues(model, row), ...stagingValues(row, now)];
}

function orderKey(alias: string): string {
  const c = (name: string) => `${alias}.${ident(name)}`;
  return `ROW(COALESCE(${c(LOADER_COLUMNS.orderTs)}, '-infinity'::timestamptz), COALESCE(${c(LOADER_COLUMNS.orderVersion)}, -1), COALESCE(${c(LOADER_COLUMNS.orderVersionText)}, ''))`;
}

/**
 * `ON CONFLICT … DO UPDATE SET … WHERE <applies>` for rows arriving as `EXCLUDED` against the
 * table aliased `t`, followed by a RETURNING that tells upserts from deletes.
 */
export function conflictClause(model: TableModel): string {
  const incoming = orderKey('EXCLUDED');
  const current = orderKey('t');
  const ex = (name: string) => `EXCLUDED.${ident(name)}`;
  const cur = (name: string) => `t.${ident(name)}`;
  const keepHigher = (name: string) =>
    `${ident(name)} = CASE WHEN ${incoming} >= ${current} THEN ${ex(name)} ELSE ${cur(name)} END`;
  const set = [
    ...model.columns.map((c) => `${ident(c.column)} = ${ex(c.column)}`),
    `${ident(LOADER_COLUMNS.record)} = ${ex(LOADER_COLUMNS.record)}`,
    `${ident(LOADER_COLUMNS.deletedAt)} = ${ex(LOADER_COLUMNS.deletedAt)}`,
    `${ident(LOADER_COLUMNS.schemaId)} = ${ex(LOADER_COLUMNS.schemaId)}`,
    `${ident(LOADER_COLUMNS.loadedAt)} = now()`,
    keepHigher(LOADER_COLUMNS.orderTs),
    keepHigher(LOADER_COLUMNS.orderVersion),
    keepHigher(LOADER_COLUMNS.orderVersionText),
  ];
  const versionless = `(${ex(LOADER_COLUMNS.orderTs)} IS NULL AND ${ex(LOADER_COLUMNS.orderVersion)} IS NULL AND ${ex(LOADER_COLUMNS.orderVersionText)} IS NULL)`;
  const isDelete = `${ex(LOADER_COLUMNS.deletedAt)} IS NOT NULL`;
  const live = `${cur(LOADER_COLUMNS.deletedAt)} IS NULL`;
  const applies = [
    `(NOT ${isDelete} AND ${incoming} > ${current})`,
    `(${isDelete} AND ${live} AND (${incoming} >= ${current} OR ${versionless}))`,
    `(${isDelete} AND NOT ${live} AND ${incoming} > ${current})`,
  ].join('\n     OR ');
  const key = `${ident(columnOf(model, 'sourceId'))}, ${ident(columnOf(model, 'logicalId'))}`;
  return `ON CONFLICT (${key}) DO UPDATE SET\n  ${set.join(',\n  ')}\nWHERE ${applies}\nRETURNING (t.${ident(LOADER_COLUMNS.deletedAt)} IS NOT NULL) AS deleted`;
}

/** Wraps a merge statement so it returns one row: how many upserts and deletes it applied. */
export function countingMerge(insert: string): string {
  return `WITH merged AS (\n${insert}\n)\nSELECT count(*) FILTER (WHERE NOT deleted)::int AS upserted, count(*) FILTER (WHERE deleted)::int AS deleted FROM merged`;
}

/**
 * Loader columns a staging row carries, as the resource table declares them less `_loaded_at` (the
 * table sets it) and unconstrained (the merge checks). The typed contract columns are not sent at
 * all: they are extracted from `_record` by {@link stagingSelectList} (half the bytes on
 * the wire, and no per-column encoding in Node).
 */
export const STAGING_COLUMNS: readonly (readonly [string, string])[] = LOADER_COLUMN_DDL.filter(
  ([name]) => name !== LOADER_COLUMNS.loadedAt,
).map(([name, type]) => [name, type.replace(' NOT NULL', '')] as const);

/** The values of a staging row in {@link STAGING_COLUMNS} order. */
export function stagingValues(row: LoadRow, now: string): unknown[] {
  return [
    row.record,
    row.deleted ? now : null,
    row.orderTs,
    row.orderVersion,
    row.orderVersionText,
    row.schemaId,
  ];
}

/**
 * The SELECT list that turns a staging row (alias `s`) into {@link writtenColumns}: each contract
 * column extracted from `s._record` and cast the way {@link columnValue} converts it for the
 * multi-row writer, so both strategies write the same values.
 */
export function stagingSelectList(model: TableModel): string {
  const r = `s.${ident(LOADER_COLUMNS.record)}`;
  return [
    ...model.columns.map((c) => extract(r, c)),
    ...STAGING_COLUMNS.map(([name]) => `s.${ident(name)}`),
  ].join(', ');
}

function extract(r: string, c: ColumnModel): string {
  const key = literal(c.field);
  const text = `(${r} ->> ${key})`;
  if (c.array) {
    const item = c.kind === 'text' ? 'e' : `e::${sqlScalar(c)}`;
    return `CASE WHEN jsonb_typeof(${r} -> ${key}) = 'array' THEN ARRAY(SELECT ${item} FROM jsonb_array_elements_text(${r} -> ${key}) WITH ORDINALITY AS a(e, i) ORDER BY i) END`;
  }
  switch (c.kind) {
    case 'text':
      return text;
    case 'jsonb':
      return `NULLIF(${r} -> ${key}, 'null'::jsonb)`;
    case 'bytea':
      return `decode(${text}, 'base64')`;
    case 'timestamptz':
      return `to_timestamp(${text}::double precision / 1000)`;
    case 'date':
      return `DATE '1970-01-01' + ${text}::integer`;
    case 'boolean':
    case 'integer':
    case 'bigint':
    case 'real':
    case 'double':
      return `${text}::${sqlScalar(c)}`;
  }
}

function sqlScalar(c: ColumnModel): string {
  return c.sqlType.replace(/\[\]$/, '');
}

/** `INSERT INTO "schema"."table" AS t (cols…, _loaded_at)` */
export function insertInto(schema: string, model: TableModel): string {
  const cols = [...writtenColumns(model), LOADER_COLUMNS.loadedAt].map(ident).join(', ');
  return `INSERT INTO ${qualified(schema, model.table)} AS t (${cols})`;
}

/** What a write strategy reports for one batch. */
export interface WriteResult {
  /** Rows inserted or replaced by a newer version. */
  readonly upserted: number;
  /** Tombstones written. */
  readonly deleted: number;
  /** Records not applied: older or equal to what the table holds. */
  readonly ignored: number;
}
