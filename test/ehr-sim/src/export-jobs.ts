import { randomUUID } from 'node:crypto';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { ResourceMeta } from './dataset.ts';
import type { ResourceGenerator } from './generator.ts';
import type { ExportOptions } from './options.ts';
import type { ResourceType } from './resource-types.ts';

/** A validated kick-off request. */
export interface ExportRequest {
  readonly site: string;
  /** The kick-off URL as the client sent it (echoed in the manifest). */
  readonly requestUrl: string;
  /** Scheme and authority the client used; file and status URLs are built from it. */
  readonly origin: string;
  readonly types: readonly ResourceType[];
  readonly sinceMs: number | undefined;
  /** Patients [from, to) in scope. */
  readonly patients: readonly [number, number];
}

export type FileKind = 'output' | 'deleted' | 'error';

/** One NDJSON file of a job: which qualifying resources it holds, found again by scanning from `startIndex`. */
export interface ExportFile {
  readonly name: string;
  readonly kind: FileKind;
  readonly resourceType: ResourceType;
  readonly startIndex: number;
  readonly endIndex: number;
  readonly count: number;
  /** Byte size, computed on the first Range request. */
  size?: number;
  /** Full downloads served so far: part of the file's ETag, which changes with each rendering. */
  generation?: number;
  /** Lines the manifest announces, when it differs from `count` (repeated resources, grouped deletions). */
  manifestCount?: number;
  /** Output file: index of a resource listed again at the start (the previous file's last). */
  repeatIndex?: number;
  /** Deleted file: DELETE entries per Bundle, each Bundle repeating the last entry of the one before. */
  groupedDeletes?: boolean;
  /** Error file: the type each OperationOutcome line reports, and its issue code. */
  errors?: readonly { readonly type: ResourceType; readonly code: string }[];
}

/** The export faults that shape a manifest, as they were when the export completed. */
export interface ManifestFaults {
  readonly exportErrorFile: boolean;
  readonly failedExportTypes: readonly ResourceType[];
  readonly repeatResources: boolean;
  readonly manifestCountSkew: number;
}

export interface ExportJob {
  readonly id: string;
  readonly request: ExportRequest;
  readonly createdAt: number;
  readonly transactionTime: string;
  polls: number;
  files: ExportFile[] | undefined;
  cancelled: boolean;
  completedAt: number | undefined;
}

/** The completion manifest. @see https://hl7.org/fhir/uv/bulkdata/export.html#response---complete-status */
export interface ExportManifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: true;
  output: { type: string; url: string; count: number }[];
  deleted?: { type: 'Bundle'; url: string; count: number }[];
  error: { type: 'OperationOutcome'; url: string; count: number }[];
}

export type PollResult =
  | { readonly state: 'missing' }
  | { readonly state: 'pending'; readonly progressPercent: number }
  | { readonly state: 'ready'; readonly manifest: ExportManifest; readonly expiresAt: number };

export type FileLookup =
  | { readonly state: 'missing' }
  | { readonly state: 'expired' }
  | { readonly state: 'ready'; readonly job: ExportJob; readonly file: ExportFile };

/** Indexes scanned between yields to the event loop while planning. */
const PLAN_SLICE = 20_000;

/** Whether a resource belongs in a file of this kind. Planning and streaming share it, so they agree. */
export function qualifies(kind: FileKind, meta: ResourceMeta, sinceMs: number | undefined): boolean {
  const recent = sinceMs === undefined || meta.lastUpdatedMs >= sinceMs;
  return kind === 'deleted' ? meta.deleted && recent : !meta.deleted && recent;
}

/**
 * Bulk export jobs. A job holds only file boundaries (one index per file), never resources: files
 * are regenerated from the seed when downloaded.
 */
export class ExportJobs {
  private readonly jobs = new Map<string, ExportJob>();
  private readonly generator: ResourceGenerator;
  private readonly options: ExportOptions;
  private closed = false;

  constructor(generator: ResourceGenerator, options: ExportOptions) {
    this.generator = generator;
    this.options = options;
  }

  /** Registers a job and plans its files in the background. */
  start(request: ExportRequest, now: number): ExportJob {
    this.forgetOld(now);
    const job: ExportJob = {
      id: randomUUID(),
      request,
      createdAt: now,
      transactionTime: new Date(now).toISOString(),
      polls: 0,
      files: undefined,
      cancelled: false,
      completedAt: undefined,
    };
    this.jobs.set(job.id, job);
    void this.plan(job);
    return job;
  }

  /** One status poll: counts it and says whether the manifest is ready. */
  poll(site: string, id: string, now: number, faults: ManifestFaults): PollResult {
    const job = this.live(site, id, now);
    if (job === undefined) return { state: 'missing' };
    if (job.completedAt === undefined) {
      const ready =
        job.files !== undefined &&
        job.polls >= this.options.pollsBeforeReady &&
        now - job.createdAt >= this.options.readyAfterMs;
      if (!ready) {
        job.polls++;
        const byPolls =
          this.options.pollsBeforeReady === 0 ? 1 : job.polls / (this.options.pollsBeforeReady + 1);
        return { state: 'pending', progressPercent: Math.min(99, Math.floor(byPolls * 100)) };
      }
      job.files = this.shape(job, job.files ?? [], faults);
      job.completedAt = now;
    }
    return { state: 'ready', manifest: manifestOf(job), expiresAt: job.completedAt + this.options.fileTtlMs };
  }

  /** Cancels a live job; false when there is none. */
  cancel(site: string, id: string, now: number): boolean {
    const job = this.live(site, id, now);
    if (job === undefined) return false;
    job.cancelled = true;
    return true;
  }

  /** Finds a file of a completed job. */
  file(site: string, id: string, name: string, now: number): FileLookup {
    const job = this.jobs.get(id);
    if (job === undefined || job.cancelled || job.request.site !== site || job.completedAt === undefined)
      return { state: 'missing' };
    if (now >= job.completedAt + this.options.fileTtlMs) return { state: 'expired' };
    const file = job.files?.find((f) => f.name === name);
    return file === undefined ? { state: 'missing' } : { state: 'ready', job, file };
  }

  close(): void {
    this.closed = true;
  }

  /** Applies the manifest faults to a planned file list (once, when the export completes). */
  private shape(job: ExportJob, planned: ExportFile[], faults: ManifestFaults): ExportFile[] {
    const failed = new Set(faults.failedExportTypes.filter((t) => job.request.types.includes(t)));
    const errors: { type: ResourceType; code: string }[] = [];
    if (faults.exportErrorFile)
      for (const type of job.request.types) errors.push({ type, code: 'processing' });
    const files: ExportFile[] = [];
    let previous: ExportFile | undefined;
    for (const file of planned) {
      if (file.kind === 'output' && failed.has(file.resourceType)) {
        errors.push({ type: file.resourceType, code: 'exception' });
        continue;
      }
      const sameType = previous?.kind === file.kind && previous.resourceType === file.resourceType;
      if (faults.repeatResources && file.kind === 'output' && sameType && previous !== undefined) {
        const repeatIndex = this.lastIndexOf(job, previous);
        if (repeatIndex !== undefined) {
          file.repeatIndex = repeatIndex;
          file.manifestCount = file.count + 1;
        }
      }
      if (faults.manifestCountSkew !== 0 && file.kind === 'output') {
        file.manifestCount = Math.max(0, (file.manifestCount ?? file.count) + faults.manifestCountSkew);
      }
      if (faults.repeatResources && file.kind === 'deleted') {
        file.groupedDeletes = true;
        file.manifestCount = Math.ceil(file.count / DELETES_PER_BUNDLE);
      }
      files.push(file);
      previous = file;
    }
    if (errors.length > 0) files.push(errorFile(job.request.types, errors));
    return files;
  }

  /** Index of the last resource a file holds. */
  private lastIndexOf(job: ExportJob, file: ExportFile): number | undefined {
    const layout = this.generator.layout(job.request.site);
    for (let index = file.endIndex - 1; index >= file.startIndex; index--)
      if (qualifies(file.kind, layout.meta(file.resourceType, index), job.request.sinceMs)) return index;
    return undefined;
  }

  private live(site: string, id: string, now: number): ExportJob | undefined {
    const job = this.jobs.get(id);
    if (job === undefined || job.cancelled || job.request.site !== site) return undefined;
    if (job.completedAt !== undefined && now >= job.completedAt + this.options.fileTtlMs) return undefined;
    return job;
  }

  /** Scans metadata of every index in scope, cutting a new file every maxResourcesPerFile hits. */
  private async plan(job: ExportJob): Promise<void> {
    const { site, types, sinceMs, patients } = job.request;
    const layout = this.generator.layout(site);
    const files: ExportFile[] = [];
    const kinds: FileKind[] = sinceMs === undefined ? ['output'] : ['output', 'deleted'];
    let scanned = 0;
    for (const kind of kinds) {
      for (const type of types) {
        const [from, to] = layout.indexRange(type, patients[0], patients[1]);
        let count = 0;
        let start = from;
        let part = 0;
        const cut = (endIndex: number): void => {
          const name = `${kind === 'deleted' ? 'deleted-' : ''}${type}-${part++}.ndjson`;
          files.push({ name, kind, resourceType: type, startIndex: start, endIndex, count });
          count = 0;
        };
        for (let index = from; index < to; index++) {
          if (++scanned % PLAN_SLICE === 0) {
            await yieldToLoop();
            if (this.closed || job.cancelled) return;
          }
          if (!qualifies(kind, layout.meta(type, index), sinceMs)) continue;
          if (count === 0) start = index;
          if (++count === this.options.maxResourcesPerFile) cut(index + 1);
        }
        if (count > 0) cut(to);
      }
    }
    job.files = files;
  }

  /** Drops jobs whose files expired long ago, so a long run does not accumulate them. */
  private forgetOld(now: number): void {
    for (const [id, job] of this.jobs) {
      const gone =
        job.cancelled ||
        (job.completedAt !== undefined && now >= job.completedAt + 2 * this.options.fileTtlMs);
      if (gone) this.jobs.delete(id);
    }
  }
}

/** DELETE entries per Bundle of a grouped `deleted` file (before the repeated one). */
export const DELETES_PER_BUNDLE = 3;

/** The error file holds one OperationOutcome per error. */
function errorFile(
  types: readonly ResourceType[],
  errors: readonly { type: ResourceType; code: string }[],
): ExportFile {
  return {
    name: 'error-0.ndjson',
    kind: 'error',
    resourceType: types[0] ?? 'Patient',
    startIndex: 0,
    endIndex: errors.length,
    count: errors.length,
    errors,
  };
}

/** URL of a job's status endpoint. */
export function statusUrl(job: ExportJob): string {
  return `${job.request.origin}/${job.request.site}/fhir/_bulk/${job.id}`;
}

function manifestOf(job: ExportJob): ExportManifest {
  const base = statusUrl(job);
  const files = job.files ?? [];
  const entry = (f: ExportFile): { url: string; count: number } => ({
    url: `${base}/${f.name}`,
    count: f.manifestCount ?? f.count,
  });
  const manifest: ExportManifest = {
    transactionTime: job.transactionTime,
    request: job.request.requestUrl,
    requiresAccessToken: true,
    output: files.filter((f) => f.kind === 'output').map((f) => ({ type: f.resourceType, ...entry(f) })),
    error: files
      .filter((f) => f.kind === 'error')
      .map((f) => ({ type: 'OperationOutcome' as const, ...entry(f) })),
  };
  if (job.request.sinceMs !== undefined) {
    manifest.deleted = files
      .filter((f) => f.kind === 'deleted')
      .map((f) => ({ type: 'Bundle' as const, ...entry(f) }));
  }
  return manifest;
}
