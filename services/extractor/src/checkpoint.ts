import type { ExportManifest, FileRole } from './manifest.ts';

/** Where reading of a file resumes: byte offset and 1-based number of the next line. */
export interface FilePosition {
  readonly byteOffset: number;
  readonly lineNo: number;
}

/** Record totals; a finished job reconciles: read = produced + deleted + errors. */
export interface RecordCounts {
  readonly read: number;
  readonly produced: number;
  readonly deleted: number;
  readonly errors: number;
}

export const ZERO_COUNTS: RecordCounts = { read: 0, produced: 0, deleted: 0, errors: 0 };

/** Committed progress of one manifest file: only what Kafka acknowledged. */
export interface FileProgress {
  readonly role: FileRole;
  readonly type: string;
  readonly url: string;
  readonly position: FilePosition;
  readonly done: boolean;
  readonly counts: RecordCounts;
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
    })),
  };
}

/** The fresh checkpoint of an incremental sync over `types`. */
export function progressForTypes(types: readonly string[]): IncrementalProgress {
  return {
    kind: 'incremental',
    types: types.map((type) => ({ type, next: undefined, pages: 0, maxSeen: undefined, done: false, counts: ZERO_COUNTS })),
  };
}

export function addCounts(a: RecordCounts, b: Partial<RecordCounts>): RecordCounts {
  return {
    read: a.read + (b.read ?? 0),
    produced: a.produced + (b.produced ?? 0),
    deleted: a.deleted + (b.deleted ?? 0),
    errors: a.errors + (b.errors ?? 0),
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
  };
  return { ...progress, files };
}

/** Commits one search page of a type: the next link (undefined when it was the last page). */
export function commitPage(
  progress: IncrementalProgress,
  type: string,
  next: string | undefined,
  maxSeen: string | undefined,
  delta: Partial<RecordCounts>,
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
  return counts.read === counts.produced + counts.deleted + counts.errors;
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
