import { createHash } from 'node:crypto';
import type { ExportManifest, FileRole } from './manifest.ts';

/** A small stable number for a file URL or resource type: the `part` of the keys read there. */
export function partOf(name: string): number {
  return createHash('sha256').update(name).digest().readInt32BE(0);
}

/**
 * Where reading of a file resumes: byte offset and 1-based number of the next line, and the
 * validator (ETag / Last-Modified) of the response the offset was counted in, for `If-Range`.
 */
export interface FilePosition {
  readonly byteOffset: number;
  readonly lineNo: number;
  readonly validator?: string;
}

/**
 * Record totals; a finished job reconciles: read = produced + deleted + errors + duplicates.
 * `duplicates` are source lines naming a resource (type, id, version) the job had already read.
 */
export interface RecordCounts {
  readonly read: number;
  readonly produced: number;
  readonly deleted: number;
  readonly errors: number;
  readonly duplicates: number;
}

export const ZERO_COUNTS: RecordCounts = { read: 0, produced: 0, deleted: 0, errors: 0, duplicates: 0 };

/** Error entries of a manifest, as counts: per resource type concerned, per issue code. PHI-free. */
export interface ErrorEntries {
  readonly byType: Readonly<Record<string, number>>;
  readonly issueCodes: Readonly<Record<string, number>>;
}

/** Committed progress of one manifest file: only what Kafka acknowledged. */
export interface FileProgress {
  readonly role: FileRole;
  readonly type: string;
  readonly url: string;
  readonly position: FilePosition;
  readonly done: boolean;
  readonly counts: RecordCounts;
  /** Resource count the manifest announced (a line count), when it did. */
  readonly count?: number;
  /** Non-blank lines read and committed, each counted once however often transferred. */
  readonly lines?: number;
  /** Times the file was read again from its start because its line count was not `count`. */
  readonly refetches?: number;
  /** For `error` files: what the OperationOutcomes read so far reported. */
  readonly errorEntries?: ErrorEntries;
  /** Resources not produced because they were larger than the raw topic takes (`TOO_LARGE`). */
  readonly tooLarge?: number;
}

/** What one committed batch adds to a file besides its record counts. */
export interface FileDelta {
  readonly lines?: number;
  readonly errorEntries?: ErrorEntries;
  readonly tooLarge?: number;
}

/** Checkpoint of a bulk export: the manifest's files in order, each with its committed position. */
export interface BackfillProgress {
  readonly kind: 'backfill';
  readonly transactionTime: string;
  /** Whether the files need the bearer token (manifest `requiresAccessToken`). */
  readonly requiresAccessToken: boolean;
  readonly files: readonly FileProgress[];
}

/** Committed progress of the search of one resource type. */
export interface TypeProgress {
  readonly type: string;
  /** URL of the next page to read; undefined before the first page. */
  readonly next: string | undefined;
  /** Pages committed so far (for locators). */
  readonly pages: number;
  /** Newest `meta.lastUpdated` among committed records (becomes the watermark when done). */
  readonly maxSeen: string | undefined;
  readonly done: boolean;
  readonly counts: RecordCounts;
  /** Resources not produced because they were larger than the raw topic takes (`TOO_LARGE`). */
  readonly tooLarge?: number;
}

/** Checkpoint of an incremental sync: one entry per resource type. */
export interface IncrementalProgress {
  readonly kind: 'incremental';
  readonly types: readonly TypeProgress[];
}

export type JobProgress = BackfillProgress | IncrementalProgress;

export const START_OF_FILE: FilePosition = { byteOffset: 0, lineNo: 1 };

/** The fresh checkpoint of a manifest: every file at its start. */
export function progressFromManifest(manifest: ExportManifest): BackfillProgress {
  return {
    kind: 'backfill',
    transactionTime: manifest.transactionTime,
    requiresAccessToken: manifest.requiresAccessToken,
    files: manifest.files.map((f) => ({
      role: f.role,
      type: f.type,
      url: f.url,
      position: START_OF_FILE,
      done: false,
      counts: ZERO_COUNTS,
      lines: 0,
      ...(f.count === undefined ? {} : { count: f.count }),
    })),
  };
}

/**
 * The checkpoint of an export started again (its status URL or files expired, or a resumed job's
 * export is gone): files of types that were read completely are kept — they are not fetched
 * again — and the new manifest's files follow. `keptTypes` says which types the new export may
 * leave out. A `_since` export lists deletions in files that name no type, so nothing is kept.
 */
export function carriedOver(
  previous: BackfillProgress | undefined,
  since: string | undefined,
): { kept: FileProgress[]; keptTypes: Set<string> } {
  if (previous === undefined || since !== undefined) return { kept: [], keptTypes: new Set() };
  const entries = errorEntriesOf(previous);
  if (entries.byType.unknown !== undefined) return { kept: [], keptTypes: new Set() };
  const outputs = previous.files.filter((f) => f.role === 'output');
  const types = new Set(outputs.map((f) => f.type));
  const keptTypes = new Set(
    [...types].filter((t) => entries.byType[t] === undefined && outputs.every((f) => f.type !== t || f.done)),
  );
  return { kept: outputs.filter((f) => keptTypes.has(f.type)), keptTypes };
}

/** A file to read again from its start: counts and lines back to zero, one more refetch. */
export function restartFile(progress: BackfillProgress, index: number): BackfillProgress {
  const file = progress.files[index];
  if (file === undefined) throw new RangeError(`no file at index ${index}`);
  const files = [...progress.files];
  const rest: FileProgress = { ...file };
  // The error entries and too-large resources read so far are read again with the file.
  delete (rest as { errorEntries?: ErrorEntries }).errorEntries;
  delete (rest as { tooLarge?: number }).tooLarge;
  files[index] = {
    ...rest,
    position: START_OF_FILE,
    done: false,
    counts: ZERO_COUNTS,
    lines: 0,
    refetches: (file.refetches ?? 0) + 1,
  };
  return { ...progress, files };
}

/** The error entries of a checkpoint, summed over its `error` files. */
export function errorEntriesOf(progress: JobProgress | undefined): ErrorEntries {
  const byType: Record<string, number> = {};
  const issueCodes: Record<string, number> = {};
  if (progress?.kind !== 'backfill') return { byType, issueCodes };
  for (const f of progress.files) {
    for (const [k, n] of Object.entries(f.errorEntries?.byType ?? {})) byType[k] = (byType[k] ?? 0) + n;
    for (const [k, n] of Object.entries(f.errorEntries?.issueCodes ?? {}))
      issueCodes[k] = (issueCodes[k] ?? 0) + n;
  }
  return { byType, issueCodes };
}

/** Adds two sets of error entries. */
export function addErrorEntries(
  a: ErrorEntries | undefined,
  b: ErrorEntries | undefined,
): ErrorEntries | undefined {
  if (b === undefined) return a;
  if (a === undefined) return b;
  const sum = (x: Readonly<Record<string, number>>, y: Readonly<Record<string, number>>) => {
    const out: Record<string, number> = { ...x };
    for (const [k, n] of Object.entries(y)) out[k] = (out[k] ?? 0) + n;
    return out;
  };
  return { byType: sum(a.byType, b.byType), issueCodes: sum(a.issueCodes, b.issueCodes) };
}

/** Resources left out as `TOO_LARGE`, per resource type (types with none are absent). */
export function tooLargeOf(progress: JobProgress | undefined): Record<string, number> {
  const byType: Record<string, number> = {};
  if (progress === undefined) return byType;
  const parts = progress.kind === 'backfill' ? progress.files : progress.types;
  for (const p of parts)
    if ((p.tooLarge ?? 0) > 0) byType[p.type] = (byType[p.type] ?? 0) + (p.tooLarge ?? 0);
  return byType;
}

/**
 * The types a `retry-failed` job exports again: those the error entries name (every requested
 * type when an entry could not be tied to one), and those with resources left out as too large.
 */
export function failedTypes(progress: JobProgress | undefined, requested: readonly string[]): string[] {
  const { byType } = errorEntriesOf(progress);
  if (byType.unknown !== undefined) return [...requested];
  const tooLarge = tooLargeOf(progress);
  return requested.filter((t) => byType[t] !== undefined || tooLarge[t] !== undefined);
}

/** The fresh checkpoint of an incremental sync over `types`. */
export function progressForTypes(types: readonly string[]): IncrementalProgress {
  return {
    kind: 'incremental',
    types: types.map((type) => ({
      type,
      next: undefined,
      pages: 0,
      maxSeen: undefined,
      done: false,
      counts: ZERO_COUNTS,
    })),
  };
}

export function addCounts(a: RecordCounts, b: Partial<RecordCounts>): RecordCounts {
  return {
    read: a.read + (b.read ?? 0),
    produced: a.produced + (b.produced ?? 0),
    deleted: a.deleted + (b.deleted ?? 0),
    errors: a.errors + (b.errors ?? 0),
    // Checkpoints written before duplicates were counted have none.
    duplicates: (a.duplicates ?? 0) + (b.duplicates ?? 0),
  };
}

/**
 * Commits a batch of one file: the position moves forward (never back), the batch's counts are
 * added, and `done` marks the whole file read. A position behind the committed one is refused:
 * that would count the same lines twice.
 */
export function commitFile(
  progress: BackfillProgress,
  index: number,
  position: FilePosition | 'done',
  delta: Partial<RecordCounts>,
  more: FileDelta = {},
): BackfillProgress {
  const file = progress.files[index];
  if (file === undefined) throw new RangeError(`no file at index ${index}`);
  if (file.done) throw new RangeError(`file ${index} is already complete`);
  if (position !== 'done' && position.lineNo < file.position.lineNo) {
    throw new RangeError(`file ${index}: position moves backwards`);
  }
  const files = [...progress.files];
  files[index] = {
    ...file,
    position: position === 'done' ? file.position : position,
    done: position === 'done',
    counts: addCounts(file.counts, delta),
    lines: (file.lines ?? 0) + (more.lines ?? 0),
  };
  const entries = addErrorEntries(file.errorEntries, more.errorEntries);
  if (entries !== undefined) files[index] = { ...files[index], errorEntries: entries };
  if ((more.tooLarge ?? 0) > 0)
    files[index] = { ...files[index], tooLarge: (file.tooLarge ?? 0) + (more.tooLarge ?? 0) };
  return { ...progress, files };
}

/** Commits one search page of a type: the next link (undefined when it was the last page). */
export function commitPage(
  progress: IncrementalProgress,
  type: string,
  next: string | undefined,
  maxSeen: string | undefined,
  delta: Partial<RecordCounts>,
  tooLarge = 0,
): IncrementalProgress {
  const types = progress.types.map((t) =>
    t.type !== type
      ? t
      : {
          ...t,
          next,
          pages: t.pages + 1,
          maxSeen: laterInstant(t.maxSeen, maxSeen),
          done: next === undefined,
          counts: addCounts(t.counts, delta),
          ...(tooLarge > 0 ? { tooLarge: (t.tooLarge ?? 0) + tooLarge } : {}),
        },
  );
  return { ...progress, types };
}

/** The totals of a checkpoint (sum over files or types). */
export function totalsOf(progress: JobProgress | undefined): RecordCounts {
  if (progress === undefined) return ZERO_COUNTS;
  const parts = progress.kind === 'backfill' ? progress.files : progress.types;
  return parts.reduce((sum, p) => addCounts(sum, p.counts), ZERO_COUNTS);
}

/** Whether every file or type of the checkpoint is fully read and acknowledged. */
export function isComplete(progress: JobProgress | undefined): boolean {
  if (progress === undefined) return false;
  const parts = progress.kind === 'backfill' ? progress.files : progress.types;
  return parts.every((p) => p.done);
}

/** Whether totals account for every record read. */
export function reconciles(counts: RecordCounts): boolean {
  return counts.read === counts.produced + counts.deleted + counts.errors + (counts.duplicates ?? 0);
}

/** The later of two FHIR instants (either may be missing); compared as instants, not strings. */
export function laterInstant(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  const ta = Date.parse(a);
  const tb = Date.parse(b);
  if (Number.isNaN(tb)) return a;
  if (Number.isNaN(ta)) return b;
  return tb > ta ? b : a;
}
