import { ident, qualified } from './names.ts';
import {
  CHILD_VIEW_COLUMNS,
  LOADER_COLUMNS,
  type ChildColumnModel,
  type ChildViewModel,
  type ColumnModel,
  type TableModel,
} from './table-model.ts';

/** Tables the loader keeps next to the resource tables, in the same schema. */
export const INFRA_TABLES = {
  offsets: 'loader_offsets',
  migrations: 'loader_migrations',
  columns: 'loader_columns',
  ledger: 'loader_ledger',
  rejects: 'loader_rejects',
} as const;

/**
 * The loader's own tables:
 * - `loader_offsets`: the consumer position per group and partition, written in the same
 *   transaction as the rows it covers (Kafka holds no offsets for the loader's group).
 * - `loader_migrations`: every DDL statement the loader applied, with the schema it came from.
 * - `loader_columns`: which field each column holds and whether the contract requires it (what
 *   the compatibility check compares a new schema against).
 * - `loader_ledger`: one row per (job, record) loaded, so reconciliation counts what each job put
 *   into the warehouse even after a later job overwrote the row.
 * - `loader_rejects`: clean-topic records that could not be decoded (kept with their bytes, which
 *   carry no PHI on a clean topic, so they are accounted for rather than dropped or blocking).
 */
export function infrastructureDdl(schema: string): string[] {
  const t = (name: string) => qualified(schema, name);
  return [
    `CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`,
    `CREATE TABLE IF NOT EXISTS ${t(INFRA_TABLES.offsets)} (
      group_id text NOT NULL,
      topic text NOT NULL,
      partition integer NOT NULL,
      next_offset bigint NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (group_id, topic, partition)
    )`,
    `CREATE TABLE IF NOT EXISTS ${t(INFRA_TABLES.migrations)} (
      id bigserial PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now(),
      table_name text NOT NULL,
      action text NOT NULL,
      column_name text,
      subject text NOT NULL,
      schema_version integer,
      schema_id integer,
      statement text NOT NULL
    )`,
    `CREATE TABLE IF NOT EXISTS ${t(INFRA_TABLES.columns)} (
      table_name text NOT NULL,
      column_name text NOT NULL,
      field_name text NOT NULL,
      sql_type text NOT NULL,
      avro_type text NOT NULL,
      required boolean NOT NULL,
      PRIMARY KEY (table_name, column_name)
    )`,
    `CREATE TABLE IF NOT EXISTS ${t(INFRA_TABLES.ledger)} (
      job_id text NOT NULL,
      record_id text NOT NULL,
      resource_type text NOT NULL,
      kind text NOT NULL CHECK (kind IN ('upsert', 'delete')),
      loaded_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (job_id, record_id)
    )`,
    `CREATE TABLE IF NOT EXISTS ${t(INFRA_TABLES.rejects)} (
      topic text NOT NULL,
      partition integer NOT NULL,
      "offset" bigint NOT NULL,
      error_code text NOT NULL,
      schema_id integer,
      value bytea,
      rejected_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (topic, partition, "offset")
    )`,
  ];
}

/** Loader-owned columns of every resource table, after the contract's. */
export const LOADER_COLUMN_DDL: readonly (readonly [string, string])[] = [
  [LOADER_COLUMNS.record, 'jsonb NOT NULL'],
  [LOADER_COLUMNS.deletedAt, 'timestamp with time zone'],
  [LOADER_COLUMNS.loadedAt, 'timestamp with time zone NOT NULL DEFAULT now()'],
  [LOADER_COLUMNS.orderTs, 'timestamp with time zone'],
  [LOADER_COLUMNS.orderVersion, 'bigint'],
  [LOADER_COLUMNS.orderVersionText, 'text'],
  [LOADER_COLUMNS.schemaId, 'integer'],
];

/**
 * `CREATE TABLE` of a resource table. Contract columns carry no NOT NULL: a delete tombstone has
 * none of them, and the contract was already checked upstream. Primary key: (source, logical id),
 * because a logical id is only unique on its own server.
 */
export function createTableDdl(schema: string, model: TableModel): string {
  const cols = [
    ...model.columns.map((c) => `${ident(c.column)} ${c.sqlType}`),
    ...LOADER_COLUMN_DDL.map(([name, type]) => `${ident(name)} ${type}`),
    `PRIMARY KEY (${ident(columnOf(model, 'sourceId'))}, ${ident(columnOf(model, 'logicalId'))})`,
  ];
  return `CREATE TABLE ${qualified(schema, model.table)} (\n  ${cols.join(',\n  ')}\n)`;
}

/** `ALTER TABLE … ADD COLUMN` for a new optional field. */
export function addColumnDdl(schema: string, table: string, column: ColumnModel): string {
  return `ALTER TABLE ${qualified(schema, table)} ADD COLUMN ${ident(column.column)} ${column.sqlType}`;
}

/**
 * Statements that (re)create the view of an array-of-records column: one row per item, with the
 * parent's key, the item's 0-based `_position`, one typed column per field of the item and the
 * parent's `_deleted_at`. Dropped and created again, since a view's columns cannot be changed in
 * place; it holds no data.
 */
export function childViewDdl(schema: string, model: TableModel, view: ChildViewModel): string[] {
  const source = ident(columnOf(model, 'sourceId'));
  const logical = ident(columnOf(model, 'logicalId'));
  const cols = [
    `p.${source}`,
    `p.${logical}`,
    `(e.ord - 1)::integer AS ${ident(CHILD_VIEW_COLUMNS.position)}`,
    ...view.columns.map((c) => `${itemValue(c)} AS ${ident(c.column)}`),
    `p.${ident(LOADER_COLUMNS.deletedAt)}`,
  ];
  return [
    `DROP VIEW IF EXISTS ${qualified(schema, view.view)}`,
    `CREATE VIEW ${qualified(schema, view.view)} AS
  SELECT ${cols.join(', ')}
  FROM ${qualified(schema, model.table)} p
  CROSS JOIN LATERAL jsonb_array_elements(coalesce(p.${ident(view.column)}, '[]'::jsonb)) WITH ORDINALITY AS e(item, ord)`,
  ];
}

/** SQL reading one field of a jsonb item `e.item` as its column type. */
function itemValue(c: ChildColumnModel): string {
  const key = `'${c.field.replaceAll("'", "''")}'`;
  if (c.kind === 'jsonb') return `e.item->${key}`;
  if (c.array) return `ARRAY(SELECT jsonb_array_elements_text(e.item->${key}))::${c.sqlType}`;
  if (c.kind === 'text') return `e.item->>${key}`;
  return `(e.item->>${key})::${c.sqlType}`;
}

/** The column name of a contract field that the model is known to have. */
export function columnOf(model: TableModel, field: string): string {
  const col = model.columns.find((c) => c.field === field);
  if (col === undefined) throw new TypeError(`table ${model.table} has no column for field ${field}`);
  return col.column;
}
