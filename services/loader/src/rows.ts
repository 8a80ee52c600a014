import { KIND_HEADER } from '@ehrflow/contracts';
import type { ColumnModel, TableModel } from './table-model.ts';

/**
 * Kafka header that marks a clean record as a deletion (`DELETE`): the validator and redactor set
 * it on every record of the deletion topics. A clean schema may instead carry a boolean `deleted`
 * or a string `kind` field; see {@link isDeleteRecord}.
 */
export { KIND_HEADER };

/** One clean record, ready to write: key, the full record, and its version order. */
export interface LoadRow {
  readonly sourceId: string;
  readonly logicalId: string;
  readonly recordId: string;
  readonly jobId: string;
  /** The decoded record (typed column values come from it, see {@link columnValues}). */
  readonly value: Readonly<Record<string, unknown>>;
  /** The whole clean record as JSON text (the `_record` jsonb column). */
  readonly record: string;
  readonly deleted: boolean;
  /** `lastUpdated` as an ISO instant, when present and parseable. */
  readonly orderTs: string | null;
  /** `versionId` when it is a decimal integer (compared numerically), as a decimal string. */
  readonly orderVersion: string | null;
  /** `versionId` as text (the tie-breaker for non-numeric ids). */
  readonly orderVersionText: string | null;
  readonly schemaId: number;
  /**
   * 1 for the first record of a key in a batch, 2 for the second, …: rows of one round are merged
   * in one statement (a statement may touch a row only once), rounds in order, which gives the
   * same result as applying the records one by one.
   */
  readonly round: number;
}

/** Whether a clean record is a deletion: the {@link KIND_HEADER} header, `deleted: true`, or `kind: "DELETE"`. */
export function isDeleteRecord(
  value: Readonly<Record<string, unknown>>,
  headers: Readonly<Record<string, string>>,
): boolean {
  if (headers[KIND_HEADER]?.toUpperCase() === 'DELETE') return true;
  if (value.deleted === true) return true;
  return typeof value.kind === 'string' && value.kind.toUpperCase() === 'DELETE';
}

/** Input of {@link toRows}: a decoded clean record and what Kafka says about it. */
export interface CleanRecord {
  readonly value: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly schemaId: number;
}

/** Converts decoded clean records into rows, in input order, numbering rounds per key. */
export function toRows(records: readonly CleanRecord[]): LoadRow[] {
  const seen = new Map<string, number>();
  return records.map((r) => {
    const v = r.value;
    const sourceId = String(v.sourceId);
    const logicalId = String(v.logicalId);
    const key = `${sourceId}\u0000${logicalId}`;
    const round = (seen.get(key) ?? 0) + 1;
    seen.set(key, round);
    const version = typeof v.versionId === 'string' ? v.versionId : null;
    return {
      sourceId,
      logicalId,
      recordId: String(v.recordId),
      jobId: String(v.jobId),
      value: v,
      record: recordJson(v),
      deleted: isDeleteRecord(v, r.headers),
      orderTs: instantOf(v.lastUpdated),
      orderVersion: version !== null && /^\d{1,18}$/.test(version) ? version : null,
      orderVersionText: version === null ? null : text(version),
      schemaId: r.schemaId,
      round,
    };
  });
}

/** One value per column of the model, in model order (null when the writer schema lacks the field). */
export function columnValues(model: TableModel, row: LoadRow): unknown[] {
  return model.columns.map((c) => columnValue(c, row.value[c.field]));
}

/** A decoded Avro value as the column's JavaScript value (what node-postgres and COPY expect). */
export function columnValue(col: ColumnModel, value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (col.array) return Array.isArray(value) ? value.map((item) => scalarValue(col, item)) : null;
  return scalarValue(col, value);
}

function scalarValue(col: ColumnModel, value: unknown): unknown {
  switch (col.kind) {
    case 'text':
      return typeof value === 'string' ? text(value) : String(value);
    case 'jsonb':
      return recordJson(value);
    case 'timestamptz':
      return typeof value === 'number' ? new Date(value).toISOString() : value;
    case 'date':
      return typeof value === 'number' ? new Date(value * 86_400_000).toISOString().slice(0, 10) : value;
    case 'boolean':
    case 'integer':
    case 'bigint':
    case 'real':
    case 'double':
    case 'bytea':
      return value;
  }
}

/** PostgreSQL text cannot hold NUL; it is replaced so one odd character cannot stall a partition. */
function text(value: string): string {
  return value.includes('\u0000') ? value.replaceAll('\u0000', '\uFFFD') : value;
}

/**
 * JSON for jsonb: bytes as base64, NUL replaced (jsonb refuses `\u0000`). The replacer is slow
 * (it runs for every key), so it is used only when the plain text shows a Buffer or a NUL.
 */
export function recordJson(value: unknown): string {
  const plain = JSON.stringify(value);
  if (!plain.includes('\\u0000') && !plain.includes('"type":"Buffer","data":[')) return plain;
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'string') return text(v);
    if (
      v !== null &&
      typeof v === 'object' &&
      (v as { type?: unknown }).type === 'Buffer' &&
      Array.isArray((v as { data?: unknown }).data)
    ) {
      return Buffer.from((v as { data: number[] }).data).toString('base64');
    }
    return v;
  });
}

function instantOf(value: unknown): string | null {
  if (typeof value !== 'string' || value === '') return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}
