import type { Pool } from 'pg';
import type { LeakHit } from './leak-report.ts';
import type { ValueScanner } from './scan-value.ts';

/** One table row as JSON (`row_to_json`), with where it came from. */
export interface TableRow {
  readonly table: string;
  /** 1-based position in the read order; rows carry no PHI-free id the scan could rely on. */
  readonly rowNumber: number;
  readonly json: string;
}

/**
 * Scans a row column by column (the JSON of the row is walked, so a `jsonb` column is walked
 * field by field and an encrypted value is checked as ciphertext). A row whose text is not JSON
 * is scanned whole.
 */
export function scanTableRow(row: TableRow, scanner: ValueScanner): LeakHit[] {
  let value: unknown;
  try {
    value = JSON.parse(row.json);
  } catch {
    value = row.json;
  }
  return scanner.scan(value).hits.map((h) => ({
    source: 'postgres' as const,
    location: `${row.table} row ${row.rowNumber} ${h.path}`,
    canary: h.canary,
    count: h.count,
    kind: h.kind,
  }));
}

/** Tables (`schema.table`) of the given schemas, base tables only. */
export async function listTables(pool: Pool, schemas: readonly string[]): Promise<string[]> {
  const { rows } = await pool.query<{ schema: string; name: string }>(
    `select table_schema as schema, table_name as name from information_schema.tables
      where table_schema = any($1) and table_type = 'BASE TABLE' order by 1, 2`,
    [[...schemas]],
  );
  return rows.map((r) => `${r.schema}.${r.name}`);
}

/**
 * Every row of a table as JSON text, read with a server-side cursor in pages (memory stays
 * bounded whatever the table size).
 */
export async function* readTableRows(pool: Pool, table: string, pageSize = 1000): AsyncGenerator<TableRow> {
  const [schema, name] = table.split('.');
  if (schema === undefined || name === undefined) throw new RangeError(`table ${table} must be schema.table`);
  const client = await pool.connect();
  try {
    await client.query('begin read only');
    await client.query(
      `declare leak_scan_rows no scroll cursor for select row_to_json(t)::text as j from ${ident(schema)}.${ident(name)} t`,
    );
    let rowNumber = 0;
    for (;;) {
      const { rows } = await client.query<{ j: string }>(`fetch forward ${pageSize} from leak_scan_rows`);
      for (const r of rows) {
        rowNumber += 1;
        yield { table, rowNumber, json: r.j };
      }
      if (rows.length < pageSize) break;
    }
    await client.query('commit');
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
