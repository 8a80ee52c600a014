import { isPipelineError } from '@ehrflow/errors';
import type { JobEvent, JobFailureReason, JobKind, JobState } from '@ehrflow/contracts';
import {
  errorEntriesOf,
  tooLargeOf,
  totalsOf,
  ZERO_COUNTS,
  addCounts,
  type ErrorEntries,
  type JobProgress,
  type RecordCounts,
} from './checkpoint.ts';
import type { JobRecord, JobStats } from './job-store.ts';

/** What the jobs API answers about a job: state, counts and errors by code; no record data. */
export interface JobView {
  readonly id: string;
  readonly sourceId: string;
  readonly kind: JobKind;
  readonly state: JobState;
  readonly reason: JobFailureReason | null;
  readonly errorCode: string | null;
  readonly resourceTypes: readonly string[];
  readonly since: string | null;
  readonly counts: RecordCounts & {
    readonly retries: number;
    readonly throttled: number;
    readonly tokenRefreshes: number;
  };
  readonly countsByType: Readonly<Record<string, RecordCounts>>;
  readonly errorsByCode: Readonly<Record<string, number>>;
  /**
   * The error entries of the export manifest (data the source could not export): per resource
   * type and per OperationOutcome issue code. Null when there were none.
   */
  readonly errorEntries: ErrorEntries | null;
  /**
   * Resources left out because the raw topic would refuse them (`TOO_LARGE`), per resource type;
   * null when there were none. A job with any ends `partial` (reason `records_too_large`).
   */
  readonly tooLarge: Readonly<Record<string, number>> | null;
  /** The partial job this job retries, if it is a `retry-failed` job. */
  readonly parentJobId: string | null;
  /** Files (backfill) or resource types (incremental) fully read, of how many. */
  readonly parts: { readonly done: number; readonly total: number };
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** The live state of a job: the stored record overlaid with what this process has committed since. */
export interface JobSnapshot {
  readonly record: JobRecord;
  readonly state: JobState;
  readonly reason: JobFailureReason | null;
  readonly errorCode: string | undefined;
  readonly progress: JobProgress | undefined;
  readonly stats: JobStats;
  readonly updatedAt: number;
}

export function snapshotOf(record: JobRecord): JobSnapshot {
  return {
    record,
    state: record.state,
    reason: record.reason,
    errorCode: record.errorCode,
    progress: record.progress,
    stats: record.stats,
    updatedAt: record.updatedAt,
  };
}

export function toJobView(s: JobSnapshot): JobView {
  const totals = totalsOf(s.progress);
  return {
    id: s.record.id,
    sourceId: s.record.sourceId,
    kind: s.record.kind,
    state: s.state,
    reason: s.reason,
    errorCode: s.errorCode ?? null,
    resourceTypes: s.record.resourceTypes,
    since: s.record.since ?? null,
    counts: {
      ...totals,
      retries: s.stats.retries,
      throttled: s.stats.throttled,
      tokenRefreshes: s.stats.tokenRefreshes,
    },
    countsByType: countsByType(s.progress),
    errorsByCode: s.stats.errorsByCode,
    errorEntries: entriesOrNull(s.progress),
    tooLarge: tooLargeOrNull(s.progress),
    parentJobId: s.record.parentId ?? null,
    parts: partsOf(s.progress),
    createdAt: new Date(s.record.createdAt).toISOString(),
    updatedAt: new Date(s.updatedAt).toISOString(),
  };
}

/** The `ehr.jobs` event of a snapshot. The checkpoint field is a PHI-free summary, not the URLs. */
export function toJobEvent(s: JobSnapshot, now: number): JobEvent {
  const view = toJobView(s);
  const since = s.record.since === undefined ? Number.NaN : Date.parse(s.record.since);
  return {
    jobId: s.record.id,
    sourceId: s.record.sourceId,
    kind: s.record.kind,
    state: s.state,
    reason: s.reason,
    resourceTypes: [...s.record.resourceTypes],
    since: Number.isNaN(since) ? null : since,
    counts: view.counts,
    errorEntries:
      view.errorEntries === null
        ? null
        : { byType: { ...view.errorEntries.byType }, issueCodes: { ...view.errorEntries.issueCodes } },
    tooLargeByType: view.tooLarge === null ? null : { ...view.tooLarge },
    parentJobId: view.parentJobId,
    startedAt: s.record.createdAt,
    updatedAt: now,
    checkpoint:
      s.progress === undefined
        ? null
        : JSON.stringify({ kind: s.progress.kind, done: view.parts.done, total: view.parts.total }),
  };
}

/** Codes whose reason is more precise than their class's. */
const REASON_BY_CODE: Partial<Record<string, JobFailureReason>> = {
  EXPORT_EXPIRED: 'export_expired',
  MANIFEST_COUNT_MISMATCH: 'manifest_mismatch',
  JOB_UNRECONCILED: 'unreconciled',
  HTTP_PERMANENT: 'source_refused',
  KAFKA_REJECTED: 'sink_refused',
  DATABASE_REJECTED: 'sink_refused',
};

/**
 * Why a failed job failed, from the error that ended it. Known cases have their own reason:
 * credentials refused → `auth`; retries used up on 429s → `rate_limited`, on network/5xx/broker
 * trouble → `network`; an export that kept expiring → `export_expired`; the source refused a
 * request (a 4xx other than 401/429) → `source_refused`; a file whose line count never matched its
 * manifest → `manifest_mismatch`; counts that do not add up → `unreconciled`; Kafka or the job
 * database refusing a request for good (authorisation, a fenced producer) → `sink_refused`; a contract failure →
 * `contract`. `internal` is left for what no case explains (a bug).
 */
export function failureReason(err: unknown): JobFailureReason {
  if (!isPipelineError(err)) return 'internal';
  const last = err.code === 'RETRIES_EXHAUSTED' && isPipelineError(err.cause) ? err.cause : err;
  const named = REASON_BY_CODE[last.code];
  if (named !== undefined) return named;
  switch (last.errorClass) {
    case 'auth':
      return 'auth';
    case 'rate_limited':
      return 'rate_limited';
    case 'transient':
      return 'network';
    case 'contract':
      return 'contract';
    case 'permanent':
      return 'internal';
  }
}

/** The code that names the failure (the last attempt's, for exhausted retries). */
export function failureCode(err: unknown): string {
  if (!isPipelineError(err)) return 'INTERNAL';
  return err.code === 'RETRIES_EXHAUSTED' && isPipelineError(err.cause) ? err.cause.code : err.code;
}

function partsOf(progress: JobProgress | undefined): { done: number; total: number } {
  if (progress === undefined) return { done: 0, total: 0 };
  const parts = progress.kind === 'backfill' ? progress.files : progress.types;
  return { done: parts.filter((p) => p.done).length, total: parts.length };
}

function countsByType(progress: JobProgress | undefined): Record<string, RecordCounts> {
  const out: Record<string, RecordCounts> = {};
  if (progress === undefined) return out;
  const parts = progress.kind === 'backfill' ? progress.files : progress.types;
  for (const p of parts) out[p.type] = addCounts(out[p.type] ?? ZERO_COUNTS, p.counts);
  return out;
}

function entriesOrNull(progress: JobProgress | undefined): ErrorEntries | null {
  const entries = errorEntriesOf(progress);
  return Object.keys(entries.byType).length === 0 ? null : entries;
}

function tooLargeOrNull(progress: JobProgress | undefined): Record<string, number> | null {
  const byType = tooLargeOf(progress);
  return Object.keys(byType).length === 0 ? null : byType;
}
