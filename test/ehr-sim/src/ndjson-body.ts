import { setTimeout as sleep } from 'node:timers/promises';
import type { FhirResource } from './clinical-resources.ts';
import type { SimContext } from './context.ts';
import { DELETES_PER_BUNDLE, qualifies, type ExportFile, type ExportJob } from './export-jobs.ts';
import type { FileFault } from './faults.ts';
import { renderLine, type ResourceGenerator } from './generator.ts';
import { resourceId } from './resource-types.ts';

/** Bytes gathered before a chunk is handed to the socket. */
const CHUNK_BYTES = 64 * 1024;
/** Pause before a reset so the partial bytes reach the client first. */
const RESET_PAUSE_MS = 25;

/**
 * Output lines that a full download of a file served changed (drift), by resource index. A real
 * file does not change between downloads, and a client resumes with Range at a byte offset of the
 * download it broke off; ranged reads replay these lines so the offsets still fall on line starts.
 * Only the changed lines of the latest full download are kept.
 */
const changedLines = new WeakMap<ExportFile, Map<number, string>>();

/**
 * The lines of one export file, regenerated from the seed one at a time. With `serve` (a full
 * download), every output resource passes through it on its way out (counting, drift) and the
 * lines it changed are remembered; without it (ranged download, size), the lines are those of the
 * latest full download, drift included. With `stamp` (a server that renders on the fly), every
 * output resource carries it as `meta.source`, so each rendering has different bytes.
 */
export function* fileLines(
  generator: ResourceGenerator,
  job: ExportJob,
  file: ExportFile,
  serve?: Pick<SimContext, 'serve' | 'servePlain'>,
  stamp?: string,
): Generator<string> {
  const { site, sinceMs, types } = job.request;
  if (file.kind === 'error') {
    const errors =
      file.errors ??
      types.slice(file.startIndex, file.endIndex).map((type) => ({ type, code: 'processing' }));
    for (const { type, code } of errors) yield `${JSON.stringify(exportError(type, code))}\n`;
    return;
  }
  let changed = changedLines.get(file);
  if (serve !== undefined) {
    changed = new Map();
    changedLines.set(file, changed);
    // The byte size cached for Range answers was that of the previous full download.
    delete file.size;
  }
  const render = (index: number): string => {
    let line: string;
    if (serve === undefined) {
      line = changed?.get(index) ?? generator.line(site, file.resourceType, index);
    } else if (serve.servePlain(file.resourceType)) {
      // No drift rule for this type: the line as rendered (or kept) is the line served.
      line = generator.line(site, file.resourceType, index);
    } else {
      const resource = generator.resource(site, file.resourceType, index);
      const served = serve.serve(resource);
      line = renderLine(served);
      // Drift hands back a new object; an unchanged resource comes back as is.
      if (served !== resource) changed?.set(index, line);
    }
    return stamp === undefined ? line : stamped(line, stamp);
  };
  if (file.kind === 'output' && file.repeatIndex !== undefined) yield render(file.repeatIndex);
  const deletes: string[] = [];
  let lastDelete: string | undefined;
  const bundle = (): string => {
    const entries = lastDelete === undefined ? [...deletes] : [lastDelete, ...deletes];
    lastDelete = deletes[deletes.length - 1];
    deletes.length = 0;
    return deleteBundle(entries, job.request.origin, site);
  };
  let emitted = 0;
  for (let index = file.startIndex; index < file.endIndex && emitted < file.count; index++) {
    if (!qualifies(file.kind, generator.meta(site, file.resourceType, index), sinceMs)) continue;
    emitted++;
    if (file.kind === 'output') {
      yield render(index);
    } else if (file.groupedDeletes !== true) {
      yield deleteBundle(
        [`${file.resourceType}/${resourceId(file.resourceType, index)}`],
        job.request.origin,
        site,
      );
    } else {
      deletes.push(`${file.resourceType}/${resourceId(file.resourceType, index)}`);
      if (deletes.length === DELETES_PER_BUNDLE) yield bundle();
    }
  }
  if (deletes.length > 0) yield bundle();
}

/**
 * A transaction Bundle of DELETE entries. Several entries use the URL forms real servers write:
 * the first `Type/id`, the second absolute, the third a `_history` URL.
 */
function deleteBundle(refs: readonly string[], origin: string, site: string): string {
  const entry = refs.map((ref, i) => {
    const url = i % 3 === 1 ? `${origin}/${site}/fhir/${ref}` : i % 3 === 2 ? `${ref}/_history/1` : ref;
    return { request: { method: 'DELETE', url } };
  });
  return `${JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry })}\n`;
}

/** A rendered resource line with `meta.source` set to the stamp. */
function stamped(line: string, stamp: string): string {
  const resource = JSON.parse(line) as FhirResource & { meta?: Record<string, unknown> };
  return `${JSON.stringify({ ...resource, meta: { ...resource.meta, source: `#${stamp}` } })}\n`;
}

function exportError(type: string, code: string): FhirResource {
  return {
    resourceType: 'OperationOutcome',
    id: `export-error-${type}`,
    issue: [
      {
        severity: 'error',
        code,
        // Servers write free text here, sometimes quoting what they choke on: never read it.
        diagnostics: `Some ${type} resources could not be exported (simulated source error)`,
        expression: [type],
      },
    ],
  };
}

/** Total byte size of a sequence of lines. */
export function byteSize(lines: Iterable<string>): number {
  let size = 0;
  for (const line of lines) size += Buffer.byteLength(line);
  return size;
}

export interface BodyOptions {
  /** Inclusive byte range of the full content to send. */
  readonly range?: { readonly start: number; readonly end: number };
  /** Lines in the full file, used to place a line-based fault. */
  readonly lineCount: number;
  readonly fault: FileFault;
  /** Called when the fault fires (before the reset or early end). */
  readonly onFault?: (kind: 'reset' | 'truncate') => void;
  /** Awaited before a chunk of `lines` lines goes out (bandwidth pacing). */
  readonly pace?: (lines: number) => Promise<void>;
}

/**
 * Paces lines across every download of a simulator: each chunk is released when the lines before
 * it, at `perSecond()` lines per second, have had their time. A rate of 0 releases at once.
 */
export function createLinePacer(
  perSecond: () => number,
  now: () => number = Date.now,
  wait: (ms: number) => Promise<unknown> = sleep,
): (lines: number) => Promise<void> {
  let nextFreeAt = 0;
  return async (lines: number): Promise<void> => {
    const rate = perSecond();
    if (rate <= 0 || lines <= 0) return;
    const t = now();
    const releaseAt = Math.max(t, nextFreeAt);
    nextFreeAt = releaseAt + (lines * 1000) / rate;
    if (releaseAt > t) await wait(releaseAt - t);
  };
}

/**
 * Streams lines as byte chunks, optionally limited to a byte range, optionally broken by a fault:
 * `truncate` ends cleanly in the middle of a line, `reset` sends part of a line and then fails the
 * stream, which makes the server destroy the connection. With a range, a fault breaks the body
 * part-way through the range instead of at a line.
 */
export async function* ndjsonBody(lines: Iterable<string>, options: BodyOptions): AsyncGenerator<Buffer> {
  const { range, fault } = options;
  const start = range?.start ?? 0;
  const end = range?.end ?? Number.POSITIVE_INFINITY;
  const breakLine =
    fault !== undefined && range === undefined ? Math.floor(fault.atFraction * options.lineCount) : -1;
  const breakByte =
    fault !== undefined && range !== undefined
      ? start + Math.floor(fault.atFraction * (end - start + 1))
      : -1;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let pendingLines = 0;
  let offset = 0;
  let lineNo = 0;
  const take = async (): Promise<Buffer> => {
    await options.pace?.(pendingLines);
    const chunk = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    pendingLines = 0;
    return chunk;
  };
  for (const line of lines) {
    const bytes = Buffer.from(line);
    let from = Math.max(0, start - offset);
    let to = Math.min(bytes.length, end + 1 - offset);
    let broken = false;
    if (lineNo === breakLine) {
      to = Math.max(1, bytes.length >> 1);
      broken = true;
    } else if (breakByte >= 0 && breakByte < offset + bytes.length && breakByte >= offset) {
      to = Math.min(to, breakByte - offset + 1);
      broken = true;
    }
    from = Math.min(from, to);
    if (to > from) {
      pending.push(bytes.subarray(from, to));
      pendingBytes += to - from;
      pendingLines++;
    }
    offset += bytes.length;
    lineNo++;
    if (broken && fault !== undefined) {
      options.onFault?.(fault.kind);
      if (pendingBytes > 0) yield await take();
      if (fault.kind === 'truncate') return;
      await sleep(RESET_PAUSE_MS);
      throw new Error('simulated connection reset');
    }
    if (pendingBytes >= CHUNK_BYTES) yield await take();
    if (offset > end) break;
  }
  if (pendingBytes > 0) yield await take();
}
