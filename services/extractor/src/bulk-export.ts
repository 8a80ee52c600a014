import { PipelineError, isPipelineError } from '@ehrflow/errors';
import { parseRetryAfter, type NdjsonLine, type ResponseHeaders } from '@ehrflow/http';
import { retry, sleep } from '@ehrflow/resilience';
import { addExportLine, Batch } from './batch.ts';
import {
  carriedOver,
  commitFile,
  isComplete,
  partOf,
  progressFromManifest,
  restartFile,
  type BackfillProgress,
  type FilePosition,
} from './checkpoint.ts';
import type { JobContext } from './job-context.ts';
import { parseManifest, type ExportManifest } from './manifest.ts';

/** Longest wait between status polls, whatever Retry-After says. */
const MAX_POLL_WAIT_MS = 60_000;
const DEFAULT_POLL_WAIT_MS = 1_000;
/** Reads of a file from its start after its line count differed from the manifest's `count`. */
export const MAX_REFETCHES = 2;

/** The export's status URL or a file is gone (expired or cancelled server-side): export again. */
class ExportExpired extends Error {
  constructor() {
    super('export expired');
    this.name = 'ExportExpired';
  }
}

/**
 * Runs a backfill with FHIR Bulk Data `$export`: kick-off, status polling, parallel download of
 * the manifest's files under the source's concurrency cap, one envelope per resource. Resumes
 * from the job's checkpoint: a known status URL is polled again instead of a new kick-off, and
 * each file continues from its last committed line (finished files are not downloaded again).
 * An expired status URL or file restarts the export, at most `maxExportAttempts` kick-offs.
 *
 * @see https://hl7.org/fhir/uv/bulkdata/export.html
 */
export async function runBulkExport(ctx: JobContext): Promise<BackfillProgress> {
  let statusUrl = ctx.job.statusUrl;
  let attempts = ctx.job.exportAttempts;
  let progress = ctx.progress()?.kind === 'backfill' ? (ctx.progress() as BackfillProgress) : undefined;
  let previous: BackfillProgress | undefined;
  for (;;) {
    try {
      if (progress === undefined) {
        const { kept, keptTypes } = carriedOver(previous, ctx.job.since);
        const types = ctx.job.resourceTypes.filter((t) => !keptTypes.has(t));
        if (statusUrl === undefined && types.length > 0) {
          if (attempts >= ctx.maxExportAttempts) {
            throw new PipelineError('EXPORT_EXPIRED', 'the export expired more often than allowed', {
              context: { jobId: ctx.job.id, attempts },
            });
          }
          statusUrl = await kickOff(ctx, types);
          attempts++;
          await ctx.save({ statusUrl, exportAttempts: attempts });
        }
        const fresh =
          statusUrl === undefined
            ? {
                kind: 'backfill' as const,
                transactionTime: previous?.transactionTime ?? '',
                requiresAccessToken: previous?.requiresAccessToken ?? true,
                files: [],
              }
            : progressFromManifest(await pollUntilReady(ctx, statusUrl));
        progress = { ...fresh, files: [...kept, ...fresh.files] };
        // Keys of files that are not carried over belong to files that will be read again. With
        // no previous checkpoint in hand (a fresh job, or a crash while exporting again), no file
        // is carried over and every key goes.
        await ctx.forgetKeys(previous === undefined ? undefined : dropped(previous, kept));
        await ctx.save({ progress });
        ctx.logger.info(
          {
            jobId: ctx.job.id,
            files: fresh.files.length,
            keptFiles: kept.length,
            requiresAccessToken: fresh.requiresAccessToken,
          },
          'export manifest received',
        );
      }
      const done = await downloadAll(ctx, progress);
      await deleteExport(ctx, statusUrl);
      return done;
    } catch (err) {
      if (!(err instanceof ExportExpired)) throw err;
      ctx.logger.warn({ jobId: ctx.job.id, attempts }, 'export expired; exporting again');
      previous = (ctx.progress() as BackfillProgress | undefined) ?? progress;
      statusUrl = undefined;
      progress = undefined;
      await ctx.save({ statusUrl: null, progress: null });
    }
  }
}

/** Parts (file URLs) of a checkpoint that a new export does not carry over. */
function dropped(previous: BackfillProgress, kept: readonly { url: string }[]): number[] {
  const keptUrls = new Set(kept.map((f) => f.url));
  return previous.files.filter((f) => !keptUrls.has(f.url)).map((f) => partOf(f.url));
}

/** Kick-off request; answers the status URL (Content-Location of the 202). */
async function kickOff(ctx: JobContext, types: readonly string[]): Promise<string> {
  const { source, job } = ctx;
  const params = new URLSearchParams({ _type: types.join(','), _outputFormat: 'application/fhir+ndjson' });
  if (job.since !== undefined) params.set('_since', job.since);
  const path = source.exportLevel === 'group' ? `Group/${source.groupId ?? ''}/$export` : '$export';
  const response = await ctx.client.raw('GET', `${path}?${params.toString()}`, {
    headers: { accept: 'application/fhir+json', prefer: 'respond-async' },
    signal: ctx.signal,
    route: source.exportLevel === 'group' ? 'Group/:id/$export' : '$export',
  });
  const location = header(response.headers, 'content-location');
  if (response.status !== 202 || location === undefined) {
    throw new PipelineError('HTTP_PERMANENT', 'export kick-off was not accepted asynchronously', {
      context: { jobId: job.id, status: response.status, hasLocation: location !== undefined },
    });
  }
  ctx.logger.info({ jobId: job.id }, 'export started');
  return new URL(location, source.baseUrl).toString();
}

/** Polls the status URL (each poll counts against the rate budget) until the manifest is ready. */
async function pollUntilReady(ctx: JobContext, statusUrl: string): Promise<ExportManifest> {
  for (;;) {
    let response;
    try {
      response = await ctx.client.json('GET', statusUrl, {
        headers: { accept: 'application/json' },
        signal: ctx.signal,
        route: '_bulk/:id',
      });
    } catch (err) {
      if (isGone(err)) throw new ExportExpired();
      throw err;
    }
    if (response.status === 200) return parseManifest(response.body);
    if (response.status !== 202) {
      throw new PipelineError('HTTP_PERMANENT', 'unexpected export status answer', {
        context: { jobId: ctx.job.id, status: response.status },
      });
    }
    const progress = header(response.headers, 'x-progress');
    const retryAfter = parseRetryAfter(header(response.headers, 'retry-after'), new Date(), MAX_POLL_WAIT_MS);
    ctx.logger.debug(
      // X-Progress is free text from the server: logged only when it looks like a progress note.
      {
        jobId: ctx.job.id,
        progress: progress !== undefined && /^[\w %.,:-]{0,40}$/.test(progress) ? progress : undefined,
      },
      'export in progress',
    );
    await sleep(retryAfter?.ms ?? DEFAULT_POLL_WAIT_MS, ctx.signal);
  }
}

/** Downloads every unfinished file, at most `maxConcurrency` at once. */
async function downloadAll(ctx: JobContext, start: BackfillProgress): Promise<BackfillProgress> {
  const pending = start.files.flatMap((f, i) => (f.done ? [] : [i]));
  const workers = Math.min(ctx.source.maxConcurrency, pending.length);
  let next = 0;
  const failures: unknown[] = [];
  const worker = async (): Promise<void> => {
    while (next < pending.length && failures.length === 0) {
      const index = pending[next++] as number;
      try {
        await downloadFile(ctx, index);
      } catch (err) {
        failures.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  if (failures.length > 0) throw failures.find((e) => e instanceof ExportExpired) ?? failures[0];
  const done = ctx.progress() as BackfillProgress;
  if (!isComplete(done)) {
    throw new PipelineError('JOB_FAILED', 'export files were left unread', {
      context: { jobId: ctx.job.id },
    });
  }
  return done;
}

const LINGER_ELAPSED = Symbol('linger elapsed');

/** The next step of a line iterator, or LINGER_ELAPSED if `ms` pass first. */
async function raceLinger<T>(next: Promise<T>, ms: number): Promise<T | typeof LINGER_ELAPSED> {
  if (ms <= 0) return LINGER_ELAPSED;
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<typeof LINGER_ELAPSED>((resolve) => {
    timer = setTimeout(() => resolve(LINGER_ELAPSED), ms);
  });
  try {
    return await Promise.race([next, elapsed]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads one file from its committed position to the end, producing in batches; each batch is
 * committed (position after its last line) only after Kafka acknowledged it. A broken or truncated
 * body commits what was read and resumes from there, verified (`continueFrom` in @ehrflow/http:
 * one byte before the offset must be a newline, If-Range with the file's validator, else the
 * file from its start skipping by line count), under the job's retry policy. A file whose line
 * count is not the manifest's `count` is read again from its start, at most `MAX_REFETCHES` times.
 */
async function downloadFile(ctx: JobContext, index: number): Promise<void> {
  await retry(
    async () => {
      const current = ctx.progress() as BackfillProgress;
      const file = current.files[index];
      if (file === undefined || file.done) return;
      const part = partOf(file.url);
      const batch = new Batch();
      let batchStartedAt = 0;
      const flush = async (position: FilePosition | 'done'): Promise<void> => {
        const taken = batch.take();
        await ctx.commit(
          taken,
          (p, counts) =>
            commitFile(p as BackfillProgress, index, position, counts, {
              lines: taken.lines,
              errorEntries: taken.errorEntries,
              tooLarge: taken.tooLarge,
            }),
          part,
        );
      };
      let after: FilePosition | undefined;
      let iterator: AsyncIterator<NdjsonLine> | undefined;
      try {
        const lines = ctx.client.ndjsonLines(file.url, {
          signal: ctx.signal,
          authorize: current.requiresAccessToken,
          route: '_bulk/:id/:file',
          ...(file.position.byteOffset > 0 ? { range: file.position } : {}),
        });
        // A batch goes out when full, or when it is `batchLingerMs` old even if the next line has not
        // come yet: on a slow link, records must not wait seconds for siblings.
        iterator = lines[Symbol.asyncIterator]();
        const open = iterator;
        // Handled here so a failure while a flush runs is not an unhandled rejection; awaiting
        // `next` below still throws it.
        const pull = (): Promise<IteratorResult<NdjsonLine>> => {
          const p = open.next();
          p.catch(() => undefined);
          return p;
        };
        let next = pull();
        for (;;) {
          const step =
            batch.isEmpty() || after === undefined
              ? await next
              : await raceLinger(next, batchStartedAt + ctx.batchLingerMs - Date.now());
          if (step === LINGER_ELAPSED) {
            await flush(after as FilePosition);
            continue;
          }
          if (step.done === true) break;
          next = pull();
          const item = step.value;
          // Full by count, or by bytes before this line would take it past `batchMaxBytes`: a
          // file of large resources (documents with inline attachments) must not hold
          // `batchSize` of them in memory until Kafka acknowledges them.
          if (
            batch.size >= ctx.batchSize ||
            (batch.bytes > 0 && batch.bytes + Buffer.byteLength(item.line) > ctx.batchMaxBytes)
          )
            await flush(positionOf(item.byteOffset, item.lineNo, item.next.validator));
          if (batch.isEmpty()) batchStartedAt = Date.now();
          addExportLine(
            ctx.envelope,
            batch,
            file.role,
            item.line,
            `file ${index + 1} line ${item.lineNo}`,
            ctx.job.resourceTypes,
          );
          after = item.next;
        }
        // Lines committed so far (each source line once, however often transferred) plus this batch.
        const committed = (ctx.progress() as BackfillProgress).files[index];
        const read = (committed?.lines ?? 0) + batch.lines;
        // `count` is the number of resources, so of Bundles in a `deleted` file; a server that
        // counts the DELETE entries instead is taken at its word too.
        const entries = (committed?.counts.read ?? 0) + batch.counts.read;
        const counted = read === file.count || (file.role === 'deleted' && entries === file.count);
        if (file.count !== undefined && !counted) {
          if (after !== undefined && !batch.isEmpty()) await flush(after);
          await refetch(ctx, index, read);
          return;
        }
        await flush('done');
      } catch (err) {
        const resume = resumePosition(err, after);
        if (resume !== undefined && !batch.isEmpty()) await flush(resume);
        if (isGone(err)) throw new ExportExpired();
        throw err;
      } finally {
        // A stream given up while it still had lines (a commit that failed: Kafka or the
        // registry away) must be closed: it holds one of the source's connection slots until its
        // generator finishes, and after `maxConcurrency` such leaks every request of the source
        // would wait for ever. Not awaited: a pending read ends on its own (data or body timeout).
        iterator?.return?.(undefined)?.catch(() => undefined);
      }
    },
    { ...ctx.retryPolicy, signal: ctx.signal },
  );
}

/**
 * The file held a different number of lines than the manifest said: read it again from its
 * start (its counts and keys dropped first), or fail the job with `MANIFEST_COUNT_MISMATCH`.
 */
async function refetch(ctx: JobContext, index: number, read: number): Promise<void> {
  const file = (ctx.progress() as BackfillProgress).files[index];
  if (file === undefined) return;
  const context = {
    jobId: ctx.job.id,
    file: index + 1,
    expected: file.count,
    read,
    refetches: file.refetches ?? 0,
  };
  if ((file.refetches ?? 0) >= MAX_REFETCHES) {
    throw new PipelineError(
      'MANIFEST_COUNT_MISMATCH',
      'an export file keeps holding another line count than its manifest entry',
      { context },
    );
  }
  ctx.logger.warn(context, 'export file line count differs from the manifest; reading it again');
  await ctx.forgetKeys([partOf(file.url)]);
  await ctx.save({ progress: restartFile(ctx.progress() as BackfillProgress, index) });
  await downloadFile(ctx, index);
}

function positionOf(byteOffset: number, lineNo: number, validator: string | undefined): FilePosition {
  return validator === undefined ? { byteOffset, lineNo } : { byteOffset, lineNo, validator };
}

/** Best-effort DELETE of a finished export so the server can free its files. */
async function deleteExport(ctx: JobContext, statusUrl: string | undefined): Promise<void> {
  if (statusUrl === undefined) return;
  await ctx.client
    .raw('DELETE', statusUrl, { signal: ctx.signal, route: '_bulk/:id', retry: false })
    .catch(() => ctx.logger.debug({ jobId: ctx.job.id }, 'could not delete the finished export'));
}

/** Cancels an export at the server (job cancelled); failures are only logged. */
export async function cancelExport(
  ctx: Pick<JobContext, 'client' | 'logger' | 'job'>,
  statusUrl: string,
): Promise<void> {
  await ctx.client
    .raw('DELETE', statusUrl, { route: '_bulk/:id', retry: false })
    .catch(() => ctx.logger.warn({ jobId: ctx.job.id }, 'could not cancel the export at the source'));
}

/** Where a broken read resumes; the validator is that of the response the last line came in. */
function resumePosition(err: unknown, last: FilePosition | undefined): FilePosition | undefined {
  if (!isPipelineError(err) || err.code !== 'HTTP_TRANSIENT') return undefined;
  const { resumeOffset, resumeLineNo } = err.context;
  return typeof resumeOffset === 'number' && typeof resumeLineNo === 'number' && resumeOffset > 0
    ? positionOf(resumeOffset, resumeLineNo, last?.validator)
    : undefined;
}

/** 404 / 410: the export or file no longer exists at the source. */
function isGone(err: unknown): boolean {
  return (
    isPipelineError(err) &&
    err.code === 'HTTP_PERMANENT' &&
    (err.context.status === 404 || err.context.status === 410)
  );
}

function header(headers: ResponseHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
