/**
 * What the warehouse holds after a scenario: rows, and duplicates counted two ways — by record id
 * (the same source record twice) and by warehouse key (source id, logical id: the table's key, so
 * a second row for it means the loader's upsert failed). Column names come from the loader's own
 * `loader_columns` table, never assumed.
 */
import type pg from 'pg';

export interface WarehouseCounts {
  readonly rows: number;
  readonly duplicatedByRecordId: number;
  readonly duplicatedByKey: number;
  /** Rows per table (resource type), for the JSON report. */
  readonly byTable: Readonly<Record<string, number>>;
}

const IDENT = /^[a-z_][a-z0-9_]*$/;

/**
 * Counts the live (not deleted) rows of every resource table in the loader's `schema`; with
 * `sourceIds`, only the rows of those sources (the FHIR sites apart from the HL7 and billing feeds).
 */
export async function warehouseCounts(
  pool: pg.Pool,
  schema: string,
  sourceIds?: readonly string[],
): Promise<WarehouseCounts> {
  if (!IDENT.test(schema)) throw new RangeError('schema must be a plain identifier');
  const { rows: columns } = await pool.query<{ table_name: string; column_name: string; field_name: string }>(
    `select table_name, column_name, field_name from "${schema}".loader_columns
      where field_name in ('recordId', 'sourceId', 'logicalId')`,
  );
  const tables = new Map<string, Record<string, string>>();
  for (const c of columns) {
    const t = tables.get(c.table_name) ?? {};
    t[c.field_name] = c.column_name;
    tables.set(c.table_name, t);
  }
  let rows = 0;
  let byRecord = 0;
  let byKey = 0;
  const byTable: Record<string, number> = {};
  for (const [table, cols] of [...tables.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const { recordId, sourceId, logicalId } = cols;
    if (recordId === undefined || sourceId === undefined || logicalId === undefined) continue;
    if (![table, recordId, sourceId, logicalId].every((n) => IDENT.test(n))) continue;
    const { rows: result } = await pool.query<{ n: string; records: string; keys: string }>(
      `select count(*) as n, count(distinct "${recordId}") as records,
              count(distinct ("${sourceId}", "${logicalId}")) as keys
         from "${schema}"."${table}"${sourceIds === undefined ? '' : ` where "${sourceId}" = any($1)`}`,
      sourceIds === undefined ? [] : [[...sourceIds]],
    );
    const n = Number(result[0]?.n ?? 0);
    rows += n;
    byRecord += n - Number(result[0]?.records ?? 0);
    byKey += n - Number(result[0]?.keys ?? 0);
    byTable[table] = n;
  }
  return { rows, duplicatedByRecordId: byRecord, duplicatedByKey: byKey, byTable };
}
