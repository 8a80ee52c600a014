import { setTimeout as sleep } from 'node:timers/promises';
import type { FhirResource } from './clinical-resources.ts';
import { qualifies, type ExportFile, type ExportJob } from './export-jobs.ts';
import type { FileFault } from './faults.ts';
import type { ResourceGenerator } from './generator.ts';
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
 * latest full download, drift included.
 */
export function* fileLines(
  generator: ResourceGenerator,
  job: ExportJob,
  file: ExportFile,
  serve?: (resource: FhirResource) => FhirResource,
): Generator<string> {
  const { site, sinceMs, types } = job.request;
  if (file.kind === 'error') {
    for (const type of types.slice(file.startIndex, file.endIndex))
      yield `${JSON.stringify(exportError(type))}\n`;
    return;
  }
  let changed = changedLines.get(file);
  if (serve !== undefined) {
    changed = new Map();
    changedLines.set(file, changed);
    // The byte size cached for Range answers was that of the previous full download.
    delete file.size;
  }
  let emitted = 0;
  for (let index = file.startIndex; index < file.endIndex && emitted < file.count; index++) {
    if (!qualifies(file.kind, generator.meta(site, file.resourceType, index), sinceMs)) continue;
    emitted++;
    if (file.kind === 'deleted') {
      const url = `${file.resourceType}/${resourceId(file.resourceType, index)}`;
      yield `${JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'DELETE', url } }] })}\n`;
    } else if (serve === undefined) {
      yield changed?.get(index) ?? `${JSON.stringify(generator.resource(site, file.resourceType, index))}\n`;
    } else {
      const resource = generator.resource(site, file.resourceType, index);
      const served = serve(resource);
      const line = `${JSON.stringify(served)}\n`;
      // Drift hands back a new object; an unchanged resource comes back as is.
      if (served !== resource) changed?.set(index, line);
      yield line;
    }
  }
}

function exportError(type: string): FhirResource {
  return {
    resourceType: 'OperationOutcome',
    id: `export-error-${type}`,
    issue: [
      {
        severity: 'error',
        code: 'processing',
        diagnostics: `Some ${type} resources could not be exported (simulated source error)`,
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
