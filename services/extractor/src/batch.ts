import type { OutgoingMessage } from '@ehrflow/kafka';
import {
  addCounts,
  addErrorEntries,
  ZERO_COUNTS,
  type ErrorEntries,
  type RecordCounts,
} from './checkpoint.ts';
import { deleteMessage, upsertMessage, type EnvelopeContext } from './envelope.ts';
import { deletedRefs, errorEntrySummary, resourceHead, type FileRole } from './manifest.ts';

/** The record id of a produced envelope and what it counted as (for duplicate detection). */
export interface BatchKey {
  readonly recordId: string;
  readonly kind: 'UPSERT' | 'DELETE';
}

/** Per resource type and kind, what a batch produced (for metrics). */
export interface ProducedTally {
  readonly resourceType: string;
  readonly kind: 'UPSERT' | 'DELETE';
  count: number;
  bytes: number;
}

/**
 * The envelopes read since the last commit of one file or page, with the counts they add to the
 * checkpoint once Kafka has acknowledged them. Error codes name why a line was not produced.
 */
export class Batch {
  messages: OutgoingMessage[] = [];
  counts: RecordCounts = ZERO_COUNTS;
  errorCodes: Record<string, number> = {};
  tallies = new Map<string, ProducedTally>();
  /** Record ids of the produced envelopes, in order. */
  keys: BatchKey[] = [];
  /** What the batch's `error`-file lines reported. */
  errorEntries: ErrorEntries | undefined = undefined;
  /** Lines (or entries) consumed, including those that produced nothing. */
  lines = 0;
  /** Bytes of the resources the batch's envelopes carry (before encryption). */
  bytes = 0;
  /** Resources left out as larger than the raw topic takes (also counted as `TOO_LARGE` errors). */
  tooLarge = 0;

  get size(): number {
    return this.messages.length;
  }

  isEmpty(): boolean {
    return this.lines === 0;
  }

  /** Hands the content over and leaves the batch empty. */
  take(): Batch {
    const out = new Batch();
    Object.assign(out, this);
    this.messages = [];
    this.counts = ZERO_COUNTS;
    this.errorCodes = {};
    this.tallies = new Map();
    this.keys = [];
    this.errorEntries = undefined;
    this.lines = 0;
    this.bytes = 0;
    this.tooLarge = 0;
    return out;
  }

  addMessage(message: OutgoingMessage, resourceType: string, kind: 'UPSERT' | 'DELETE', bytes: number): void {
    this.messages.push(message);
    this.keys.push({ recordId: (message.value as { recordId: string }).recordId, kind });
    const key = `${resourceType}\u0000${kind}`;
    const tally = this.tallies.get(key) ?? { resourceType, kind, count: 0, bytes: 0 };
    tally.count++;
    tally.bytes += bytes;
    this.tallies.set(key, tally);
    this.bytes += bytes;
  }

  count(delta: Partial<RecordCounts>): void {
    this.counts = addCounts(this.counts, delta);
  }

  error(code: string, n = 1): void {
    this.errorCodes[code] = (this.errorCodes[code] ?? 0) + n;
    this.count({ read: n, errors: n });
  }
}

/**
 * Turns one NDJSON line of a manifest file into envelopes in `batch`:
 * an `output` line is one resource (UPSERT); a `deleted` line is a Bundle of DELETE entries;
 * an `error` line is an OperationOutcome the server reported, counted as an error.
 * A line that is not JSON, or a resource without type or id, is counted as an error (by code).
 */
export function addExportLine(
  ctx: EnvelopeContext,
  batch: Batch,
  role: FileRole,
  line: string,
  locator: string,
  requestedTypes: readonly string[] = [],
): void {
  batch.lines++;
  const value = parseObject(line);
  if (role === 'error') {
    batch.error('EXPORT_ERROR_ENTRY');
    const { type, codes } = errorEntrySummary(value, requestedTypes);
    const issueCodes: Record<string, number> = {};
    for (const code of codes) issueCodes[code] = (issueCodes[code] ?? 0) + 1;
    batch.errorEntries = addErrorEntries(batch.errorEntries, { byType: { [type]: 1 }, issueCodes });
    return;
  }
  if (value === undefined) {
    batch.error('PARSE_ERROR');
    return;
  }
  if (role === 'output') {
    addResource(ctx, batch, value, line, locator);
    return;
  }
  const { refs, invalid } = deletedRefs(value);
  if (invalid > 0) batch.error('PARSE_ERROR', invalid);
  refs.forEach((ref, i) => {
    const message = deleteMessage(ctx, ref, `${locator} entry ${i + 1}`);
    batch.addMessage(message, ref.resourceType, 'DELETE', 0);
  });
  batch.count({ read: refs.length, deleted: refs.length });
}

/** Adds one resource (a parsed NDJSON line or a search entry) as an UPSERT envelope. */
export function addResource(
  ctx: EnvelopeContext,
  batch: Batch,
  resource: Readonly<Record<string, unknown>>,
  json: string,
  locator: string,
): void {
  const head = resourceHead(resource);
  if (head === undefined) {
    batch.error('MISSING_REQUIRED');
    return;
  }
  const bytes = Buffer.byteLength(json);
  // The raw topic would refuse it on every attempt (`max.message.bytes`), failing the job.
  if (ctx.maxResourceBytes !== undefined && bytes > ctx.maxResourceBytes) {
    batch.error('TOO_LARGE');
    batch.tooLarge += 1;
    return;
  }
  batch.addMessage(upsertMessage(ctx, head, resource, json, locator), head.resourceType, 'UPSERT', bytes);
  batch.count({ read: 1, produced: 1 });
}

function parseObject(line: string): Readonly<Record<string, unknown>> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
