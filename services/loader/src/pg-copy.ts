import pg from 'pg';
import type { PoolClient } from 'pg';

/** The two calls of node-postgres' connection that COPY FROM STDIN needs. */
interface CopyConnection {
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

/**
 * `COPY … FROM STDIN` for node-postgres without an extra package: a `pg.Query` whose answer to
 * the server's CopyInResponse is the prepared payload, then CopyDone. The rest of the exchange
 * (CommandComplete, errors, ReadyForQuery) is `pg.Query`'s own.
 * @see https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-COPY
 */
class CopyFromQuery extends pg.Query {
  readonly #chunks: readonly Buffer[];

  constructor(
    text: string,
    chunks: readonly Buffer[],
    callback: (err: Error | null | undefined, result: pg.ResultBuilder) => void,
  ) {
    super({ text }, undefined, callback);
    this.#chunks = chunks;
  }

  handleCopyInResponse(connection: CopyConnection): void {
    for (const chunk of this.#chunks) connection.sendCopyFromChunk(chunk);
    connection.endCopyFrom();
  }
}

/** Runs `COPY <target> FROM STDIN` (text format) with `rows`, each already encoded by {@link copyLine}. */
export function copyFrom(client: PoolClient, copySql: string, lines: readonly string[]): Promise<number> {
  const chunks: Buffer[] = [];
  const CHUNK = 256;
  for (let i = 0; i < lines.length; i += CHUNK)
    chunks.push(Buffer.from(lines.slice(i, i + CHUNK).join(''), 'utf8'));
  return new Promise((resolve, reject) => {
    const query = new CopyFromQuery(copySql, chunks, (err, result) => {
      if (err) reject(err);
      else resolve(result.rowCount ?? 0);
    });
    void client.query(query);
  });
}

/** One line of COPY text format: fields separated by tabs, `\N` for null, newline-terminated. */
export function copyLine(fields: readonly unknown[]): string {
  return `${fields.map(copyField).join('\t')}\n`;
}

/**
 * A value in COPY text format. Strings are escaped (backslash, tab, newline, carriage return);
 * arrays become array literals; bytes become `\x…` hex; dates are ISO text.
 * @see https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.2
 */
export function copyField(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  return escapeText(plainText(value));
}

function plainText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (typeof value === 'number') return numberText(value);
  if (typeof value === 'bigint') return value.toString();
  if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return arrayLiteral(value);
  return JSON.stringify(value);
}

function numberText(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'Infinity';
  if (n === -Infinity) return '-Infinity';
  return String(n);
}

/** `{"a","b\"c",NULL}`: every element quoted, so no element needs the unquoted-literal rules. */
export function arrayLiteral(items: readonly unknown[]): string {
  const parts = items.map((item) => {
    if (item === null || item === undefined) return 'NULL';
    const s = plainText(item);
    return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  });
  return `{${parts.join(',')}}`;
}

function escapeText(s: string): string {
  // Fast path: most values need no escaping.
  if (!/[\\\t\n\r]/.test(s)) return s;
  return s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}
