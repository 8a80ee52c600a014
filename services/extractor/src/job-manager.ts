import { randomUUID } from 'node:crypto';
import { PipelineError } from '@ehrflow/errors';
import type { JobFailureReason, JobKind, JobState } from '@ehrflow/contracts';
import type { HttpClient } from '@ehrflow/http';
import type { RetryPolicy } from '@ehrflow/resilience';
import type { Logger } from '@ehrflow/logging';
import type { Keyring } from '@ehrflow/phi';
import { cancelExport, runBulkExport } from './bulk-export.ts';
import {
  errorEntriesOf,
  tooLargeOf,
  failedTypes,
  isComplete,
  progressForTypes,
  reconciles,
  totalsOf,
  type JobProgress,
  type RecordCounts,
} from './checkpoint.ts';
import { partialJobAlert, sumByType, type JobAlertSink } from './job-alert.ts';
import { createJobEventPublisher, type JobEventSink } from './job-events.ts';
import { runIncremental } from './incremental.ts';
import type { JobContext, RecordSink } from './job-context.ts';
import type { JobCheckpoint, JobRecord, JobStats, JobStore } from './job-store.ts';
import {
  failureCode,
  failureReason,
  snapshotOf,
  toJobEvent,
  toJobView,
  type JobSnapshot,
  type JobView,
} from './job-view.ts';
import type { ExtractorMetrics } from './metrics.ts';
import type { SourceRuntime } from './source-runtime.ts';
import { watchStall, type StallWatch } from './stall-watch.ts';

/** A request to start a job (the body of `POST /jobs`). */
export interface StartJobRequest {
  readonly source: string;
  readonly kind: JobKind;
  /** Subset of the source's resource types; default all of them. */
  readonly types?: readonly string[];
  /** FHIR instant: `_since` of the export, or the `_lastUpdated` lower bound of an incremental sync. */
  readonly since?: string;
}

export interface JobManagerOptions {
  readonly store: JobStore;
  readonly sources: ReadonlyMap<string, SourceRuntime>;
  readonly sink: RecordSink;
  readonly events: JobEventSink;
  readonly keyring: Keyring;
  readonly pseudonymKey: Buffer;
  readonly leaseMs: number;
  readonly batchSize: number;
  /** Most bytes of resources in one export batch, whatever its count. Default 1 MiB. */
  readonly batchMaxBytes?: number;
  /** A resource larger than this is counted as a `TOO_LARGE` error, not produced. Default 2 MiB − 16 KiB. */
  readonly maxResourceBytes?: number;
  /** Age at which a batch is produced even if not full. Default 200 ms. */
  readonly batchLingerMs?: number;
  readonly progressIntervalMs: number;
  readonly maxExportAttempts: number;
  readonly retryPolicy: RetryPolicy;
  /** A job under 429s fails `rate_limited` after this long without a record. Default 30 min. */
  readonly stallTimeoutMs?: number;
  readonly logger: Logger;
  readonly metrics?: ExtractorMetrics;
  /** Take over running jobs of crashed replicas. Default true. */
  readonly resumeJobs?: boolean;
  /** Most jobs this process runs at once. Default 8. */
  readonly maxActiveJobs?: number;
  /** Where the alert of a job that ends `partial` goes. */
  readonly alerts?: JobAlertSink;
  /** Waits between attempts at a final job event (default `FINAL_EVENT_RETRY`); for tests. */
  readonly eventRetryPolicy?: RetryPolicy;
}

export interface JobManager {
  /** Validates, stores and starts a job in this process. */
  start(request: StartJobRequest): Promise<JobView>;
  /** Validates and stores a job for any replica to pick up (its lease starts expired). */
  enqueue(request: StartJobRequest): Promise<JobView>;
  /** A job's live view (this process's committed progress if it runs here, else the stored one). */
  get(id: string): Promise<JobView | undefined>;
  /** Cancels a job: at once when it runs here, else when its owner next renews its lease. */
  cancel(id: string): Promise<JobView | undefined>;
  /**
   * Resumes a `failed` or `cancelled` job in this process from its checkpoint: finished files are
   * not fetched again. Undefined when no such job exists; `JobStateError` for another state.
   */
  resume(id: string): Promise<JobView | undefined>;
  /**
   * Starts a new backfill, linked to a `partial` job (`parentJobId`), for just the resource types
   * its error entries name (all of the job's types when an entry names none). Undefined when no
   * such job exists; `JobStateError` for another state.
   */
  retryFailed(id: string): Promise<JobView | undefined>;
  /** Resolves when the run of a job in this process ends (with its final view). */
  wait(id: string): Promise<JobView>;
  /** Starts lease renewal, takeover of stale jobs and periodic job events. */
  run(): void;
  /** Stops the timers and interrupts running jobs, leaving them resumable; releases nothing else. */
  stop(): Promise<void>;
  /** Jobs running in this process. */
  active(): number;
}

type AbortCause = 'cancel' | 'shutdown' | 'lease';

interface ActiveJob {
  snapshot: JobSnapshot;
  readonly controller: AbortController;
  abortCause: AbortCause | undefined;
  readonly client: HttpClient;
  readonly runtime: SourceRuntime;
  readonly baseStats: JobStats;
  readonly refreshesAtStart: number;
  /** Job-level retries (a download resumed after its body broke off), beside the client's request retries. */
  resumes: number;
  errorsByCode: Record<string, number>;
  writes: Promise<unknown>;
  readonly done: Promise<JobView>;
  readonly stall: StallWatch;
}

/** Invalid request to start a job: answered 400 by the API, naming the field. */
export class JobRequestError extends PipelineError {
  readonly statusCode = 400;
  readonly field: string;
  constructor(field: string, reason: string) {
    super('CONFIG_INVALID', `job request field ${field} ${reason}`, { context: { field } });
    this.name = 'JobRequestError';
    this.field = field;
  }
}

/** How long a throttled job may go without a record before it fails (EXTRACTOR_STALL_TIMEOUT_MS). */
export const DEFAULT_STALL_TIMEOUT_MS = 1_800_000;

/** A job operation that does not fit the job's state: answered 409 by the API. */
export class JobStateError extends PipelineError {
  readonly statusCode = 409;
  readonly state: JobState;
  constructor(operation: string, state: JobState) {
    super('JOB_STATE_CONFLICT', `a ${state} job cannot be ${operation}`, { context: { operation, state } });
    this.name = 'JobStateError';
    this.state = state;
  }
}

/**
 * Most bytes of resources in one export batch (EXTRACTOR_BATCH_MAX_BYTES). A batch is held about
 * three times until Kafka acknowledges it (the lines, their encrypted envelopes, the produce
 * request), by each of a job's downloads (the source's `maxConcurrency`) and each running job:
 * with 500 resources of 1.5 KB a batch is ~750 KB, so the count binds first for ordinary
 * resources, and this bound for large ones (documents with inline attachments).
 */
export const DEFAULT_BATCH_MAX_BYTES = 1024 * 1024;

/**
 * Largest resource produced (EXTRACTOR_MAX_RESOURCE_BYTES): the raw topic's `max.message.bytes`
 * (2 MiB, deploy/topics) less room for the envelope's own fields and encryption header. A larger
 * resource would be refused by the broker on every attempt and fail the whole job; it is counted
 * as a `TOO_LARGE` error of its file instead, and the rest of the file goes on.
 */
export const DEFAULT_MAX_RESOURCE_BYTES = 2 * 1024 * 1024 - 16 * 1024;

/** Age at which a partly filled batch is produced (EXTRACTOR_BATCH_LINGER_MS). */
export const DEFAULT_BATCH_LINGER_MS = 200;

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Owns the jobs of this process: starts them, resumes those a crashed replica left behind
 * (lease expired), checkpoints their progress, decides their final state and publishes job
 * events. A job is `completed` only when every file or page is read and acknowledged and its
 * counts reconcile; an auth failure fails it with reason `auth`; a shutdown leaves it `running`
 * for the next owner to resume.
 */
export function createJobManager(options: JobManagerOptions): JobManager {
  const { store, logger } = options;
  const owner = `${process.pid}-${randomUUID()}`;
  const maxActive = options.maxActiveJobs ?? 8;
  const active = new Map<string, ActiveJob>();
  const timers: NodeJS.Timeout[] = [];
  let stopping = false;

  const validate = (request: StartJobRequest): { runtime: SourceRuntime; types: string[] } => {
    const runtime = options.sources.get(request.source);
    if (runtime === undefined) throw new JobRequestError('source', 'names no configured source');
    if (request.kind !== 'backfill' && request.kind !== 'incremental') {
      throw new JobRequestError('kind', 'must be backfill or incremental');
    }
    const known = runtime.config.resourceTypes as readonly string[];
    const types =
      request.types === undefined || request.types.length === 0 ? [...known] : [...new Set(request.types)];
    if (types.some((t) => !known.includes(t))) {
      throw new JobRequestError('types', 'must be resource types configured for the source');
    }
    if (
      request.since !== undefined &&
      (!INSTANT.test(request.since) || Number.isNaN(Date.parse(request.since)))
    ) {
      throw new JobRequestError('since', 'must be a FHIR instant with a time zone');
    }
    return { runtime, types };
  };

  const create = async (request: StartJobRequest, leaseMs: number, parentId?: string): Promise<JobRecord> => {
    const { types } = validate(request);
    const id = randomUUID();
    return store.create(
      {
        id,
        sourceId: request.source,
        kind: request.kind,
        resourceTypes: types,
        since: request.since,
        ...(parentId === undefined ? {} : { parentId }),
      },
      owner,
      leaseMs,
    );
  };

  const statsOf = (job: ActiveJob): JobStats => {
    const c = job.client.counters();
    return {
      retries: job.baseStats.retries + c.retries + job.resumes,
      throttled: job.baseStats.throttled + c.rateLimited,
      tokenRefreshes:
        job.baseStats.tokenRefreshes + (job.runtime.tokenProvider.refreshes() - job.refreshesAtStart),
      errorsByCode: job.errorsByCode,
    };
  };

  const events = createJobEventPublisher({
    sink: options.events,
    logger,
    ...(options.eventRetryPolicy ? { retryPolicy: options.eventRetryPolicy } : {}),
  });
  const emit = async (snapshot: JobSnapshot): Promise<void> => {
    await events.progress(toJobEvent(snapshot, Date.now()));
  };
  const finalEventSent = (id: string): Promise<void> =>
    store
      .finalEventSent(id)
      .catch((err: unknown) => logger.warn({ jobId: id, err }, 'could not mark the final job event sent'));

  /**
   * Final events a stopped or crashed process left unsent (its final state is in PostgreSQL):
   * one try each, stamped now, so they are the latest event of their job; a job running here is
   * left to its own `finish`.
   */
  const sweepFinalEvents = async (): Promise<void> => {
    for (const record of await store.pendingFinalEvents(20)) {
      if (active.has(record.id)) continue;
      if (await events.progress(toJobEvent(snapshotOf(record), Date.now()))) {
        logger.info({ jobId: record.id, state: record.state }, 'sent a final job event left pending');
        await finalEventSent(record.id);
      }
    }
  };

  const refresh = (job: ActiveJob, patch: Partial<JobSnapshot>): JobSnapshot => {
    job.snapshot = { ...job.snapshot, ...patch, stats: statsOf(job), updatedAt: Date.now() };
    options.metrics?.syncHttp(job.client, job.runtime.config.id, job.client.counters());
    options.metrics?.syncTokens(job.runtime.config.id, job.runtime.tokenProvider.refreshes());
    return job.snapshot;
  };

  /** Runs `write` after every earlier write of the job; a lost lease aborts the job. */
  const serial = (job: ActiveJob, write: () => Promise<void>): Promise<void> => {
    const next = job.writes.then(write);
    job.writes = next.catch(() => undefined);
    return next;
  };

  const persist = async (job: ActiveJob, data: JobCheckpoint): Promise<void> => {
    const held = await store.checkpoint(job.snapshot.record.id, owner, {
      ...data,
      stats: job.snapshot.stats,
    });
    if (!held) {
      abort(job, 'lease');
      throw new PipelineError('JOB_FAILED', 'the job lease was lost to another replica', {
        context: { jobId: job.snapshot.record.id },
      });
    }
  };

  const abort = (job: ActiveJob, cause: AbortCause): void => {
    if (job.abortCause !== undefined) return;
    job.abortCause = cause;
    job.controller.abort(
      new PipelineError(cause === 'cancel' ? 'JOB_CANCELLED' : 'SHUTDOWN', `job interrupted (${cause})`),
    );
  };

  const contextOf = (job: ActiveJob): JobContext => {
    const record = job.snapshot.record;
    return {
      job: record,
      source: job.runtime.config,
      client: job.client,
      envelope: {
        sourceId: record.sourceId,
        jobId: record.id,
        keyring: options.keyring,
        pseudonymKey: options.pseudonymKey,
        maxResourceBytes: options.maxResourceBytes ?? DEFAULT_MAX_RESOURCE_BYTES,
      },
      signal: job.controller.signal,
      retryPolicy: {
        ...options.retryPolicy,
        onRetry: (event) => {
          job.resumes++;
          options.retryPolicy.onRetry?.(event);
        },
      },
      batchSize: options.batchSize,
      batchMaxBytes: options.batchMaxBytes ?? DEFAULT_BATCH_MAX_BYTES,
      batchLingerMs: options.batchLingerMs ?? DEFAULT_BATCH_LINGER_MS,
      maxExportAttempts: options.maxExportAttempts,
      logger,
      progress: () => job.snapshot.progress,
      save: (data) =>
        serial(job, async () => {
          const record =
            data.statusUrl === undefined
              ? job.snapshot.record
              : { ...job.snapshot.record, statusUrl: data.statusUrl ?? undefined };
          const progress = data.progress === undefined ? job.snapshot.progress : (data.progress ?? undefined);
          refresh(job, { record, progress });
          await persist(job, data);
        }),
      commit: async (batch, fold, part) => {
        // Kafka first: nothing reaches the checkpoint before it is acknowledged.
        if (batch.messages.length > 0) await options.sink.send(batch.messages);
        await serial(job, async () => {
          for (const [code, n] of Object.entries(batch.errorCodes)) {
            job.errorsByCode[code] = (job.errorsByCode[code] ?? 0) + n;
            options.metrics?.recordErrors.inc({ source: record.sourceId, code }, n);
          }
          for (const t of batch.tallies.values()) {
            options.metrics?.produced.inc(
              { source: record.sourceId, resource_type: t.resourceType, kind: t.kind },
              t.count,
            );
            options.metrics?.bytes.inc({ source: record.sourceId, resource_type: t.resourceType }, t.bytes);
          }
          let progress: JobProgress | undefined;
          const keys = batch.keys.map((k) => ({ recordId: k.recordId, part }));
          const held = await store.commitBatch(record.id, owner, keys, (fresh) => {
            progress = fold(job.snapshot.progress, withDuplicates(batch.counts, batch.keys, fresh));
            return { progress, stats: statsOf(job) };
          });
          if (!held) {
            abort(job, 'lease');
            throw new PipelineError('JOB_FAILED', 'the job lease was lost to another replica', {
              context: { jobId: record.id },
            });
          }
          refresh(job, { progress });
          if (batch.messages.length > 0) job.stall.progress();
        });
      },
      forgetKeys: (parts) => serial(job, () => store.forgetKeys(record.id, parts)),
      watermarks: () => store.watermarks(record.sourceId),
      setWatermark: (type, instant) => store.setWatermark(record.sourceId, type, instant),
    };
  };

  const finish = async (
    job: ActiveJob,
    state: JobState,
    reason: JobFailureReason | null,
    errorCode?: string,
  ): Promise<void> => {
    await job.writes;
    const snapshot = refresh(job, { state, reason, errorCode });
    await store.checkpoint(snapshot.record.id, owner, { stats: snapshot.stats }).catch(() => false);
    const held = await store.setState(snapshot.record.id, owner, state, reason, errorCode);
    if (!held) {
      logger.warn(
        { jobId: snapshot.record.id, state },
        'job finished after its lease was lost; state not written',
      );
      return;
    }
    options.metrics?.jobs.inc({ source: snapshot.record.sourceId, state, reason: reason ?? 'none' });
    // Reconciliation reads the job's counts and state from this event: retried until Kafka has it.
    if (await events.final(toJobEvent(snapshot, Date.now()))) await finalEventSent(snapshot.record.id);
    if (state === 'partial' && options.alerts !== undefined) {
      const view = toJobView(snapshot);
      const alert = partialJobAlert(
        { id: view.id, sourceId: view.sourceId, reason },
        view.errorEntries,
        view.tooLarge,
        failedTypes(snapshot.progress, snapshot.record.resourceTypes),
        Date.now(),
      );
      await options.alerts
        .send(alert)
        .catch((err: unknown) => logger.warn({ jobId: view.id, err }, 'could not send a job alert'));
    }
  };

  const execute = async (job: ActiveJob): Promise<void> => {
    const record = job.snapshot.record;
    const ctx = contextOf(job);
    const log = { jobId: record.id, sourceId: record.sourceId, kind: record.kind };
    try {
      if (record.cancelRequested) abort(job, 'cancel');
      if (job.snapshot.state === 'pending') {
        if (!(await store.setState(record.id, owner, 'running', null)))
          throw new PipelineError('JOB_FAILED', 'lease lost');
      }
      await emit(refresh(job, { state: 'running' }));
      logger.info(
        { ...log, resumed: record.progress !== undefined || record.statusUrl !== undefined },
        'job running',
      );
      const final: JobProgress =
        record.kind === 'backfill' ? await runBulkExport(ctx) : await runIncremental(ctx);
      await job.writes;
      const totals = totalsOf(final);
      if (!isComplete(final)) {
        throw new PipelineError('JOB_FAILED', 'job parts were left unread', {
          context: { jobId: record.id },
        });
      }
      if (!reconciles(totals)) {
        throw new PipelineError('JOB_UNRECONCILED', 'job counts do not reconcile', {
          context: { jobId: record.id, ...totals },
        });
      }
      // Every file read and the counts add up, but the source said it could not export some data.
      const entries = sumByType(errorEntriesOf(final).byType);
      if (entries > 0) {
        await finish(job, 'partial', 'source_errors', 'EXPORT_ERROR_ENTRY');
        logger.warn(
          { ...log, ...totals, errorEntries: entries },
          'job partial: the source reported error entries',
        );
        return;
      }
      // Or resources the raw topic would refuse were left out: the data exists, the job did not
      // deliver it (a limit raised, retry-failed exports their types again).
      const tooLarge = sumByType(tooLargeOf(final));
      if (tooLarge > 0) {
        await finish(job, 'partial', 'records_too_large', 'TOO_LARGE');
        logger.warn({ ...log, ...totals, tooLarge }, 'job partial: resources too large for the raw topic');
        return;
      }
      await finish(job, 'completed', null);
      logger.info({ ...log, ...totals }, 'job completed');
    } catch (err) {
      const cause = job.abortCause;
      if (cause === 'shutdown' || cause === 'lease') {
        logger.info({ ...log, cause }, 'job interrupted; left for resumption');
        if (cause === 'shutdown')
          await job.writes.then(() => store.renew([record.id], owner, 0)).catch(() => undefined);
        return;
      }
      if (cause === 'cancel') {
        const statusUrl = job.snapshot.record.statusUrl;
        if (statusUrl !== undefined) await cancelExport(ctx, statusUrl);
        await finish(job, 'cancelled', 'cancelled', 'JOB_CANCELLED');
        logger.info(log, 'job cancelled');
        return;
      }
      // A rate-limit stall aborted the job: whatever the interrupted request threw, that is why.
      const failure = job.stall.stalled() ?? err;
      const reason = failureReason(failure);
      const code = failureCode(failure);
      logger.error({ ...log, reason, code, err }, 'job failed');
      await finish(job, 'failed', reason, code).catch((finishErr: unknown) =>
        logger.error({ ...log, err: finishErr }, 'could not record the job failure'),
      );
    }
  };

  const launch = (record: JobRecord): ActiveJob => {
    const runtime = options.sources.get(record.sourceId);
    if (runtime === undefined) {
      throw new PipelineError('CONFIG_INVALID', 'job names a source that is not configured here', {
        context: { jobId: record.id, sourceId: record.sourceId },
      });
    }
    let resolveDone: (view: JobView) => void = () => undefined;
    const done = new Promise<JobView>((resolve) => {
      resolveDone = resolve;
    });
    const progress =
      record.progress ?? (record.kind === 'incremental' ? progressForTypes(record.resourceTypes) : undefined);
    const controller = new AbortController();
    const client = runtime.client(record.kind === 'incremental' ? 'incremental' : 'backfill');
    const job: ActiveJob = {
      snapshot: { ...snapshotOf(record), progress },
      controller,
      abortCause: undefined,
      client,
      runtime,
      baseStats: record.stats,
      refreshesAtStart: runtime.tokenProvider.refreshes(),
      resumes: 0,
      errorsByCode: { ...record.stats.errorsByCode },
      writes: Promise.resolve(),
      done,
      stall: watchStall({
        timeoutMs: options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
        throttling: () => {
          const c = client.counters();
          return { total: c.rateLimited, inARow: c.throttledInARow };
        },
        onStall: (err) => controller.abort(err),
        context: { jobId: record.id, sourceId: record.sourceId },
      }),
    };
    active.set(record.id, job);
    void execute(job).finally(async () => {
      job.stall.stop();
      active.delete(record.id);
      await job.client.close().catch(() => undefined);
      resolveDone(toJobView(job.snapshot));
    });
    return job;
  };

  const renewLeases = async (): Promise<void> => {
    const ids = [...active.keys()];
    const held = await store.renew(ids, owner, options.leaseMs);
    for (const id of ids) {
      const job = active.get(id);
      if (job === undefined) continue;
      const lease = held.find((h) => h.id === id);
      if (lease === undefined) abort(job, 'lease');
      else if (lease.cancelRequested) abort(job, 'cancel');
    }
  };

  const claimStale = async (): Promise<void> => {
    const room = maxActive - active.size;
    if (room <= 0 || stopping) return;
    const claimed = await store.claimStale(owner, options.leaseMs, room);
    for (const record of claimed) {
      // A job running here whose lease ran out while its renewals failed (PostgreSQL away longer
      // than the lease): the claim renewed it for this process, which goes on running it. Launched
      // again it would run twice, and the first run's end would drop the second from `active`.
      if (active.has(record.id)) continue;
      if (!options.sources.has(record.sourceId)) {
        // Another replica may serve that source: give the job back at once.
        await store.renew([record.id], owner, 0);
        continue;
      }
      logger.info({ jobId: record.id, sourceId: record.sourceId }, 'resuming job left by another process');
      launch(record);
    }
  };

  const every = (ms: number, task: () => Promise<void>, what: string): void => {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      task()
        .catch((err: unknown) => logger.warn({ err }, `${what} failed`))
        .finally(() => {
          running = false;
        });
    }, ms);
    timers.push(timer);
  };

  return {
    async start(request) {
      if (stopping) throw new PipelineError('SHUTDOWN', 'the extractor is shutting down');
      const record = await create(request, options.leaseMs);
      const job = launch(record);
      return toJobView(job.snapshot);
    },
    async enqueue(request) {
      return toJobView(snapshotOf(await create(request, 0)));
    },
    async get(id) {
      const job = active.get(id);
      if (job !== undefined) return toJobView(job.snapshot);
      const record = await store.get(id);
      return record === undefined ? undefined : toJobView(snapshotOf(record));
    },
    async cancel(id) {
      const record = await store.requestCancel(id);
      const job = active.get(id);
      if (job !== undefined) {
        abort(job, 'cancel');
        return toJobView(job.snapshot);
      }
      return record === undefined ? undefined : toJobView(snapshotOf(record));
    },
    async resume(id) {
      if (stopping) throw new PipelineError('SHUTDOWN', 'the extractor is shutting down');
      const here = active.get(id);
      if (here !== undefined) {
        // Its final state is written; the run is only closing its connections.
        if (here.snapshot.state !== 'failed' && here.snapshot.state !== 'cancelled') {
          throw new JobStateError('resumed', here.snapshot.state);
        }
        await here.done;
      }
      const record = await store.reopen(id, owner, options.leaseMs);
      if (record === undefined) {
        const existing = await store.get(id);
        if (existing === undefined) return undefined;
        throw new JobStateError('resumed', existing.state);
      }
      logger.info({ jobId: id, sourceId: record.sourceId }, 'resuming job from its checkpoint');
      return toJobView(launch(record).snapshot);
    },
    async retryFailed(id) {
      if (stopping) throw new PipelineError('SHUTDOWN', 'the extractor is shutting down');
      const parent = await store.get(id);
      if (parent === undefined) return undefined;
      if (parent.state !== 'partial') throw new JobStateError('retried', parent.state);
      const types = failedTypes(parent.progress, parent.resourceTypes);
      const request: StartJobRequest = {
        source: parent.sourceId,
        kind: 'backfill',
        types,
        ...(parent.since === undefined ? {} : { since: parent.since }),
      };
      const record = await create(request, options.leaseMs, parent.id);
      logger.info(
        { jobId: record.id, parentJobId: parent.id, types: types.length },
        'retrying the failed types of a partial job',
      );
      return toJobView(launch(record).snapshot);
    },
    async wait(id) {
      const job = active.get(id);
      if (job !== undefined) return job.done;
      const view = await this.get(id);
      if (view === undefined) throw new JobRequestError('id', 'names no job');
      return view;
    },
    run() {
      every(Math.max(100, Math.floor(options.leaseMs / 3)), renewLeases, 'lease renewal');
      if (options.resumeJobs !== false) {
        void claimStale().catch((err: unknown) => logger.warn({ err }, 'job takeover failed'));
        every(Math.max(100, Math.floor(options.leaseMs / 2)), claimStale, 'job takeover');
      }
      every(
        options.progressIntervalMs,
        async () => {
          await Promise.all([...active.values()].map((job) => emit(refresh(job, {}))));
        },
        'progress events',
      );
      void sweepFinalEvents().catch((err: unknown) => logger.warn({ err }, 'final event sweep failed'));
      every(Math.max(1_000, options.progressIntervalMs), sweepFinalEvents, 'final event sweep');
    },
    async stop() {
      stopping = true;
      events.stop();
      for (const t of timers) clearInterval(t);
      const jobs = [...active.values()];
      for (const job of jobs) abort(job, 'shutdown');
      await Promise.all(jobs.map((j) => j.done));
    },
    active: () => active.size,
  };
}

/**
 * A batch's counts once the job store said which of its record ids were new (`fresh`): a repeat
 * (type, id and version already read in this job) moves from produced or deleted to duplicates.
 */
function withDuplicates(
  counts: RecordCounts,
  keys: readonly { readonly kind: 'UPSERT' | 'DELETE' }[],
  fresh: readonly boolean[],
): RecordCounts {
  let upserts = 0;
  let deletes = 0;
  keys.forEach((k, i) => {
    if (fresh[i] === true) return;
    if (k.kind === 'UPSERT') upserts++;
    else deletes++;
  });
  if (upserts + deletes === 0) return counts;
  return {
    ...counts,
    produced: counts.produced - upserts,
    deleted: counts.deleted - deletes,
    duplicates: (counts.duplicates ?? 0) + upserts + deletes,
  };
}
