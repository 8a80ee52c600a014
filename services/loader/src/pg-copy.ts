import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import copyStreams from 'pg-copy-streams';

/** Lines per chunk written to the COPY stream (one CopyData message each). */
const CHUNK_LINES = 256;

/**
 * Runs `COPY <target> FROM STDIN` (text format) with `lines`, each already encoded by
 * {@link copyLine}, through `pg-copy-streams` (node-postgres' public `Submittable` API); resolves
 * with the number of rows the server copied.
 * @see https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-COPY
 */
export async function copyFrom(
  client: PoolClient,
  copySql: string,
  lines: readonly string[],
): Promise<number> {
  const stream = client.query(copyStreams.from(copySql));
  await pipeline(Readable.from(chunksOf(lines)), stream);
  return stream.rowCount;
}

function* chunksOf(lines: readonly string[]): Generator<Buffer> {
  for (let i = 0; i < lines.length; i += CHUNK_LINES)
    yield Buffer.from(lines.slice(i, i + CHUNK_LINES).join(''), 'utf8');
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
