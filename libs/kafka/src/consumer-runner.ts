import { PipelineError, isPipelineError, isRetryable } from '@ehrflow/errors';
import type { Admin, Consumer, EachBatchPayload, KafkaMessage, Producer } from 'kafkajs';
import { fullJitterDelayMs } from '@ehrflow/resilience';
import {
  processChunk,
  type BatchHandler,
  type BeforeCommitHook,
  type ChunkDeps,
  type QuarantineHook,
} from './chunk-processor.ts';
import type { KafkaClient } from './client.ts';
import type { Codec } from './codec.ts';
import {
  createAtLeastOnceDelivery,
  createTransactionalDelivery,
  type CommitPoint,
  type Delivery,
  type DeliveryMode,
} from './delivery.ts';
import { isRebalanceError, toKafkaError } from './kafka-errors.ts';
import { startHeartbeat, waitWithHeartbeat } from './heartbeat.ts';
import type { KafkaLogger } from './logger.ts';
import { createTopicLimits } from './topic-limits.ts';
import type { PositionStore, StoredChunkResult } from './position-store.ts';
import { newKafkaJsProducer } from './producer.ts';
import { RunnerProgress, type ConsumerStats } from './runner-progress.ts';

export type { ConsumerStats } from './runner-progress.ts';

/**
 * Back-off between attempts of a failed chunk: exponential (doubling) with full jitter
 * (`fullJitterDelayMs` of `@ehrflow/resilience`), so replicas that failed together do not retry
 * together; a `retryAfterMs` the error carries wins.
 */
export interface BackoffPolicy {
  /** Upper bound of the first wait. */
  readonly initialMs: number;
  /** Upper bound of any wait. */
  readonly maxMs: number;
  /**
   * Attempts in total (first try included) before giving up; `Infinity` never gives up. A
   * dependency outage (`DEPENDENCY_OUTAGES`) does not count: the chunk waits for it, however long.
   */
  readonly maxAttempts: number;
}

/**
 * Codes of a dependency that is down rather than a chunk that is bad: the broker, the registry,
 * the warehouse or Redis unreachable. A chunk that meets one is retried (paused partition, capped
 * back-off, readiness failing meanwhile) until the dependency is back, instead of exhausting its
 * attempts and stopping the service: an outage longer than the retries would otherwise turn into
 * a crash loop while the dependency cannot even be reached to start again.
 */
export const DEPENDENCY_OUTAGES: ReadonlySet<string> = new Set([
  'KAFKA_UNAVAILABLE',
  'REGISTRY_UNAVAILABLE',
  'DATABASE_UNAVAILABLE',
  'REDIS_UNAVAILABLE',
]);

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 200, maxMs: 30_000, maxAttempts: 10 };

/** What every runner is configured with, whichever way it makes its work durable. */
export interface RunnerBaseOptions {
  readonly kafka: KafkaClient;
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Most records handed over at once (a fetched batch is split into chunks of this size). */
  readonly maxBatch: number;
  /**
   * Most bytes (record keys and values) in flight: a fetch asks the broker for at most this much
   * (kafkajs `maxBytes`; a single record larger than it still comes whole), a chunk is cut when
   * it reaches it, and the next fetch waits until the batch is processed, which is the
   * backpressure. Defaults to kafkajs' 10 MiB fetch.
   */
  readonly maxInFlightBytes?: number;
  readonly logger?: KafkaLogger;
  /** Where a group without committed offsets starts. Defaults to true: a new stage must see everything. */
  readonly fromBeginning?: boolean;
  /** Defaults to 30 s (kafkajs default); the broker's `group.min.session.timeout.ms` is the floor. */
  readonly sessionTimeoutMs?: number;
  /** Defaults to 3 s. */
  readonly heartbeatIntervalMs?: number;
  /**
   * Longest a fetch waits on the broker for new data. Defaults to 1 s (kafkajs: 5 s): `stop()`
   * has to wait out the fetch in flight, so this bounds drain time when idle, at the cost of one
   * empty fetch per second per broker.
   */
  readonly maxWaitTimeMs?: number;
  /** Back-off of a chunk whose handler or delivery failed transiently. */
  readonly retry?: Partial<BackoffPolicy>;
  /** How long `stop()` may take to finish the in-flight chunk, commit and disconnect. Defaults to 30 s. */
  readonly stopTimeoutMs?: number;
  /** Bytes fetched per partition at once (kafkajs default 1 MiB); bounds a chunk's bytes from above. */
  readonly maxBytesPerPartition?: number;
}

/** A stage: decode, handle, produce its outputs, commit its offsets in Kafka. */
export interface ConsumerRunnerOptions extends RunnerBaseOptions {
  readonly codec: Codec;
  readonly handler: BatchHandler;
  readonly delivery: DeliveryMode;
  /** Required for `transactional`; stable per replica, so a restarted replica fences its previous self. */
  readonly transactionalId?: string;
  readonly onQuarantine?: QuarantineHook;
  readonly beforeCommit?: BeforeCommitHook;
  /**
   * Largest output record (key, value, headers) an operator allows. Each output topic's own
   * limit is read from the broker on first use (`max.message.bytes` less 16 KiB, see
   * topic-limits.ts) and this caps it; an output above the result goes to `onQuarantine` as
   * `TOO_LARGE` instead of being refused by the broker on every attempt, which would stop the
   * stage on the same input after every restart. When a topic's limit cannot be read: this, else
   * 1 MiB − 16 KiB (under the broker's default `message.max.bytes`). A topic whose limit was
   * lowered while the stage runs is read again when the broker refuses a produce for its size,
   * and the chunk is retried under the new limit (`TOPIC_LIMIT_CHANGED`).
   */
  readonly maxOutputBytes?: number;
  /** What the logs call `maxOutputBytes`' setting (e.g. `VALIDATOR_MAX_OUTPUT_BYTES`). */
  readonly maxOutputBytesSetting?: string;
}

/** A sink that keeps its positions with its output (see {@link PositionStore}); nothing is committed to Kafka. */
export interface PositionStoreRunnerOptions extends RunnerBaseOptions {
  readonly positionStore: PositionStore;
  /**
   * Partitions whose chunks are stored at the same time. Defaults to 1. Each partition's chunks
   * still go in order; a store handles different partitions independently (own transactions).
   */
  readonly partitionsConsumedConcurrently?: number;
}

export interface ConsumerRunner {
  /**
   * Connects, joins the group and consumes until `stop()` (then resolves) or until a permanent
   * failure (then rejects with it: the service should exit non-zero). Connection failure rejects
   * with `KAFKA_UNAVAILABLE` after kafkajs' retries.
   */
  run(): Promise<void>;
  /**
   * Stops fetching, lets the in-flight chunk finish and commit, leaves the group and disconnects.
   * Rejects with `DRAIN_TIMEOUT` when that takes longer than `stopTimeoutMs`. Idempotent.
   */
  stop(): Promise<void>;
  /** Connected, in the group and not stopping: the readiness probe. */
  ready(): boolean;
  /**
   * Settles once `run()` has connected and subscribed (resolves) or failed to (rejects with the
   * same error as `run()`). Pending until `run()` is called.
   */
  started(): Promise<void>;
  stats(): ConsumerStats;
}

type State = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

/** For tests: replaces the kafkajs clients the runner makes. */
export interface RunnerSeams {
  readonly consumer?: Consumer;
  readonly producer?: () => Producer;
  readonly admin?: Admin;
}

function bytesOf(message: KafkaMessage): number {
  return (message.key?.length ?? 0) + (message.value?.length ?? 0);
}

/**
 * Where a fetched batch is cut into chunks: at most `maxRecords` records and, when given, about
 * `maxBytes` bytes each (a chunk holds at least one record, however large).
 */
export function chunkBounds(
  messages: readonly KafkaMessage[],
  maxRecords: number,
  maxBytes: number | undefined,
): [number, number][] {
  const out: [number, number][] = [];
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < messages.length; i++) {
    const size = bytesOf(messages[i] as KafkaMessage);
    if (i > start && (i - start >= maxRecords || (maxBytes !== undefined && bytes + size > maxBytes))) {
      out.push([start, i]);
      start = i;
      bytes = 0;
    }
    bytes += size;
  }
  if (start < messages.length) out.push([start, messages.length]);
  return out;
}

function nextOffset(offset: string): string {
  return (BigInt(offset) + 1n).toString();
}

/**
 * Creates a consumer runner: consume batches (auto-commit off, read_committed), decode with the
 * codec, call the handler, produce its outputs, and only then advance offsets — atomically with
 * the outputs in `transactional` mode, after acks=all in `at-least-once` mode.
 * @see https://kafka.apache.org/documentation/#semantics
 */
export function createConsumerRunner(
  options: ConsumerRunnerOptions | PositionStoreRunnerOptions,
  seams: RunnerSeams = {},
): ConsumerRunner {
  const { kafka, groupId, maxBatch, maxInFlightBytes } = options;
  if (!Number.isInteger(maxBatch) || maxBatch < 1)
    throw new RangeError('maxBatch must be a positive integer');
  if (maxInFlightBytes !== undefined && (!Number.isInteger(maxInFlightBytes) || maxInFlightBytes < 1))
    throw new RangeError('maxInFlightBytes must be a positive integer');
  if (options.topics.length === 0) throw new RangeError('topics must not be empty');
  const store = 'positionStore' in options ? options.positionStore : undefined;
  const stage = 'positionStore' in options ? undefined : options;
  if (stage?.delivery === 'transactional' && !stage.transactionalId) {
    throw new RangeError('transactional delivery needs a transactionalId');
  }
  const concurrency = 'positionStore' in options ? (options.partitionsConsumedConcurrently ?? 1) : 1;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new RangeError('partitionsConsumedConcurrently must be a positive integer');
  const logger = (options.logger ?? kafka.logger).child({ component: 'consumer-runner', groupId });
  const policy: BackoffPolicy = { ...DEFAULT_BACKOFF, ...options.retry };
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 3_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 30_000;

  const consumer =
    seams.consumer ??
    kafka.kafkajs.consumer({
      groupId,
      // read_committed: outputs of aborted upstream transactions are never seen.
      readUncommitted: false,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: heartbeatIntervalMs,
      maxWaitTimeInMs: options.maxWaitTimeMs ?? 1_000,
      ...(options.maxBytesPerPartition === undefined
        ? {}
        : {
            maxBytesPerPartition: options.maxBytesPerPartition,
            maxBytes: Math.max(10 * 1024 * 1024, 4 * options.maxBytesPerPartition),
          }),
      allowAutoTopicCreation: false,
      ...(maxInFlightBytes === undefined
        ? {}
        : { maxBytes: maxInFlightBytes, maxBytesPerPartition: Math.min(maxInFlightBytes, 1024 * 1024) }),
    });
  let admin: Admin | undefined = seams.admin;
  // One connection for every caller, also for those that ask while it is being made.
  let adminReady: Promise<Admin> | undefined = admin === undefined ? undefined : Promise.resolve(admin);
  const getAdmin = (): Promise<Admin> => {
    if (adminReady === undefined) {
      const created = kafka.kafkajs.admin();
      admin = created;
      adminReady = created.connect().then(() => created);
      adminReady.catch(() => {
        adminReady = undefined;
        admin = undefined;
      });
    }
    return adminReady;
  };
  const committedOffset = async (topic: string, partition: number): Promise<string | null> => {
    const [entry] = await (await getAdmin()).fetchOffsets({ groupId, topics: [topic] });
    const offset = entry?.partitions.find((p) => p.partition === partition)?.offset;
    return offset === undefined || offset === '-1' ? null : offset;
  };
  /**
   * Each output topic's record limit, read from the broker once and again when it refuses a
   * produce for its size (topic-limits.ts).
   */
  function outputLimits(
    stage: ConsumerRunnerOptions,
  ): Pick<ChunkDeps, 'maxOutputBytes' | 'refreshOutputLimit'> {
    const limits = createTopicLimits({
      admin: getAdmin,
      ...(stage.maxOutputBytes === undefined ? {} : { ceiling: stage.maxOutputBytes }),
      ...(stage.maxOutputBytesSetting === undefined ? {} : { ceilingName: stage.maxOutputBytesSetting }),
      logger,
    });
    return {
      maxOutputBytes: (topic) => limits.limitOf(topic),
      refreshOutputLimit: (topic) => limits.refresh(topic),
    };
  }

  // A position store makes its own writes durable: no producer, no Kafka commits.
  const delivery: Delivery | undefined =
    stage === undefined
      ? undefined
      : stage.delivery === 'transactional'
        ? createTransactionalDelivery({
            kafka,
            transactionalId: stage.transactionalId as string,
            groupId,
            logger,
            committedOffset,
            ...(seams.producer ? { newProducer: seams.producer } : {}),
          })
        : createAtLeastOnceDelivery(seams.producer ?? (() => newKafkaJsProducer(kafka)));
  const deps: ChunkDeps | undefined =
    stage === undefined || delivery === undefined
      ? undefined
      : {
          codec: stage.codec,
          handler: stage.handler,
          delivery,
          ...(stage.onQuarantine ? { onQuarantine: stage.onQuarantine } : {}),
          ...(stage.beforeCommit ? { beforeCommit: stage.beforeCommit } : {}),
          ...outputLimits(stage),
        };

  let state: State = 'idle';
  let joined = false;
  let starting: Promise<void> | undefined;
  let markStarted!: { resolve: () => void; reject: (err: unknown) => void };
  const startedPromise = new Promise<void>((resolve, reject) => {
    markStarted = { resolve, reject };
  });
  startedPromise.catch(() => undefined);
  let stopping: Promise<void> | undefined;
  let settle: { resolve: () => void; reject: (err: unknown) => void } | undefined;
  let fatal: unknown;
  /** Aborted the moment a stop is asked for: wakes back-off sleeps and makes every loop wind down. */
  const wake = new AbortController();
  const active = () => state === 'running' && !wake.signal.aborted;
  const progress = new RunnerProgress();

  // Deliveries run one at a time, in the order they were asked for, so an offset can never be
  // committed out of order (see `advancePastControlRecords`).
  let commitTail: Promise<unknown> = Promise.resolve();
  function serialized<T>(fn: () => Promise<T>): Promise<T> {
    const next = commitTail.then(fn, fn);
    commitTail = next.catch(() => undefined);
    return next;
  }

  /**
   * A fetch that held only transaction markers (or aborted records) never reaches the handler, and
   * with auto-commit off kafkajs would not commit past it: lag would stay above zero forever behind
   * a transactional producer. Such positions carry no output, so committing them is always safe.
   */
  function advancePastControlRecords(topic: string, partition: number, lastOffset: string): void {
    const point: CommitPoint = { topic, partition, offset: nextOffset(lastOffset) };
    if (!active() || !progress.advances(point)) return;
    serialized(async () => {
      if (store !== undefined) {
        await store.skip(point);
      } else if (delivery?.mode === 'transactional') {
        await delivery.deliver([], point, { commitOffsets: () => Promise.resolve() });
      } else {
        await consumer.commitOffsets([{ topic, partition, offset: point.offset }]);
      }
      progress.markCommitted(point);
      progress.setLag(topic, partition, point.offset, point.offset);
    }).catch((err: unknown) => {
      logger.debug(
        { err: toKafkaError(err, 'commit', { topic, partition }) },
        'could not commit past control records',
      );
    });
  }

  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    joined = true;
    const partitions = progress.keepOnly(event.payload.memberAssignment);
    // Synchronous on purpose: kafkajs emits this before the first fetch of the new generation, so
    // these seeks decide where that fetch starts.
    if (store !== undefined) {
      for (const [topic, assigned] of Object.entries(event.payload.memberAssignment)) {
        for (const partition of assigned) {
          const next = store.next(topic, partition);
          if (next !== undefined) consumer.seek({ topic, partition, offset: next });
        }
      }
    }
    logger.info({ partitions, positions: store === undefined ? 'kafka' : 'store' }, 'joined consumer group');
  });
  consumer.on(consumer.events.CRASH, (event) => {
    joined = false;
    const err = toKafkaError(event.payload.error, 'consume');
    if (event.payload.restart) {
      logger.warn({ err }, 'consumer crashed; kafkajs restarts it');
      return;
    }
    fail(err);
  });
  consumer.on(consumer.events.DISCONNECT, () => {
    joined = false;
  });
  consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
    const { topic, partition, batchSize, lastOffset } = event.payload;
    if (batchSize === 0) advancePastControlRecords(topic, partition, lastOffset);
  });

  /** Stops the runner because of a permanent failure; `run()` rejects with it. */
  function fail(err: unknown): void {
    if (fatal === undefined) fatal = err;
    logger.error({ err }, 'consumer runner stopping on a permanent failure');
    void shutdown().catch(() => undefined);
  }

  /** Classifies a chunk failure: rebalance (re-thrown to kafkajs), retryable, or permanent. */
  function classify(err: unknown): unknown {
    return isPipelineError(err) ? err : toKafkaError(err, 'deliver');
  }

  /**
   * Processes one chunk until it is committed ('done'), given up because the runner stops or the
   * batch went stale ('abandoned'), or failed permanently ('failed', after calling `fail`).
   * Rebalance errors propagate: kafkajs re-joins and the uncommitted chunk is fetched again.
   */
  /** One attempt at a chunk: through the position store, or the stage's decode-handle-deliver. */
  async function attemptChunk(
    payload: EachBatchPayload,
    messages: readonly KafkaMessage[],
    commit: CommitPoint,
    heartbeat: { check: () => void },
  ): Promise<StoredChunkResult | undefined> {
    if (store !== undefined) {
      const result = await store.store({
        topic: commit.topic,
        partition: commit.partition,
        messages,
        commit,
      });
      progress.chunkDone(commit, { records: result.records, outputs: 0, decodeErrors: 0, quarantined: 0 }, 0);
      return result;
    }
    const result = await serialized(() =>
      processChunk(deps as ChunkDeps, messages, commit, {
        commitOffsets: (offsets) => payload.commitOffsetsIfNecessary({ topics: offsets }),
        checkStillMember: heartbeat.check,
      }),
    );
    progress.chunkDone(commit, result, 0);
    return undefined;
  }

  async function runChunk(
    payload: EachBatchPayload,
    messages: readonly KafkaMessage[],
    commit: CommitPoint,
  ): Promise<{ outcome: 'done'; stored?: StoredChunkResult } | { outcome: 'abandoned' | 'failed' }> {
    let resume: (() => void) | undefined;
    try {
      for (let attempt = 1; ; attempt++) {
        if (!active() || !payload.isRunning() || payload.isStale()) return { outcome: 'abandoned' };
        const started = Date.now();
        const heartbeat = startHeartbeat(payload, heartbeatIntervalMs);
        try {
          const stored = await attemptChunk(payload, messages, commit, heartbeat);
          progress.tookMs(Date.now() - started);
          return stored === undefined ? { outcome: 'done' } : { outcome: 'done', stored };
        } catch (err) {
          if (isRebalanceError(err)) throw err;
          // A stop asked for while a store's attempt was failing is not the store's failure.
          if (store !== undefined && !active()) return { outcome: 'abandoned' };
          const error = classify(err);
          if (!isRetryable(error)) {
            fail(error);
            return { outcome: 'failed' };
          }
          const outage = isPipelineError(error) && DEPENDENCY_OUTAGES.has(error.code);
          if (attempt >= policy.maxAttempts && !outage) {
            fail(
              new PipelineError('RETRIES_EXHAUSTED', `Chunk failed on all ${attempt} attempts`, {
                cause: error,
                context: {
                  topic: commit.topic,
                  partition: commit.partition,
                  offset: commit.offset,
                  attempts: attempt,
                },
              }),
            );
            return { outcome: 'failed' };
          }
          progress.retried();
          const askedWait = isPipelineError(error) ? error.retryAfterMs : undefined;
          const delay = askedWait ?? fullJitterDelayMs({ ...policy, factor: 2 }, Math.min(attempt, 30) - 1);
          logger.warn(
            { err: error, topic: commit.topic, partition: commit.partition, attempt, delayMs: delay },
            'chunk failed transiently; retrying',
          );
          // Nothing more of this partition is wanted until the chunk goes through.
          resume ??= payload.pause();
          await waitWithHeartbeat(payload, delay, heartbeatIntervalMs, wake.signal);
        } finally {
          heartbeat.stop();
        }
      }
    } finally {
      resume?.();
    }
  }

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (!active() || batch.messages.length === 0) return;
    const { topic, partition } = batch;
    progress.fetched(batch.messages.length);
    progress.setLag(topic, partition, batch.highWatermark, batch.firstOffset() ?? batch.highWatermark);
    // Includes a trailing transaction marker, so committing past it leaves no phantom lag.
    const lastOfBatch = batch.lastOffset();
    progress.inFlight(batch.messages.reduce((sum, m) => sum + bytesOf(m), 0));
    try {
      for (const [start, end] of chunkBounds(batch.messages, maxBatch, maxInFlightBytes)) {
        const messages = batch.messages.slice(start, end);
        const isLast = end >= batch.messages.length;
        const lastOffset = isLast ? lastOfBatch : (messages[messages.length - 1] as KafkaMessage).offset;
        const commit: CommitPoint = { topic, partition, offset: nextOffset(lastOffset) };
        const result = await runChunk(payload, messages, commit);
        if (result.outcome !== 'done') return;
        payload.resolveOffset(lastOffset);
        progress.setLag(topic, partition, batch.highWatermark, commit.offset);
        const skipTo = result.stored?.next;
        if (skipTo !== undefined && BigInt(skipTo) > BigInt(commit.offset)) {
          // Another consumer stored further than this fetch: continue from its position.
          consumer.seek({ topic, partition, offset: skipTo });
          return;
        }
        await payload.heartbeat();
      }
    } finally {
      progress.inFlight(0);
    }
  }

  async function start(): Promise<void> {
    try {
      await delivery?.connect();
      await consumer.connect();
      await consumer.subscribe({ topics: [...options.topics], fromBeginning: options.fromBeginning ?? true });
      state = 'running';
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        // A stage takes one chunk at a time: a transactional producer runs one transaction at a
        // time anyway, and per-partition order must hold. A position store may take several
        // partitions at once (kafkajs still hands over one batch per partition at a time).
        partitionsConsumedConcurrently: concurrency,
        eachBatch,
      });
      logger.info(
        { topics: options.topics.length, delivery: delivery?.mode ?? 'position-store', maxBatch },
        'consumer runner started',
      );
      markStarted.resolve();
    } catch (err) {
      state = 'stopping';
      await Promise.allSettled([consumer.disconnect(), delivery?.disconnect()]);
      state = 'stopped';
      const error = toKafkaError(err, 'connect', { groupId });
      markStarted.reject(error);
      throw error;
    }
  }

  async function closeAll(): Promise<void> {
    // kafkajs' stop() waits for the in-flight eachBatch; ours returns after the current chunk.
    await consumer.stop();
    await commitTail;
    await consumer.disconnect();
    await delivery?.disconnect();
    if (admin) await admin.disconnect();
  }

  function shutdown(): Promise<void> {
    if (stopping) return stopping;
    wake.abort();
    joined = false;
    stopping = (async () => {
      if (state === 'idle') {
        state = 'stopped';
        return;
      }
      await starting?.catch(() => undefined);
      // A failed start already rejected run() and closed everything.
      if (state === 'stopped') return;
      state = 'stopping';
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), stopTimeoutMs);
      });
      const outcome = await Promise.race([closeAll().then(() => 'closed' as const), timeout]).finally(() =>
        clearTimeout(timer),
      );
      state = 'stopped';
      if (outcome === 'timeout') {
        const err = new PipelineError('DRAIN_TIMEOUT', `Consumer did not drain within ${stopTimeoutMs} ms`, {
          context: { groupId, stopTimeoutMs },
        });
        logger.error({ err }, 'drain timed out');
        settle?.reject(fatal ?? err);
        throw err;
      }
      logger.info({ ...progress.snapshot() }, 'consumer runner stopped');
      if (fatal !== undefined) settle?.reject(fatal);
      else settle?.resolve();
    })();
    return stopping;
  }

  return {
    run() {
      if (state !== 'idle') return Promise.reject(new RangeError('run() may be called once'));
      state = 'starting';
      const done = new Promise<void>((resolve, reject) => {
        settle = { resolve, reject };
      });
      // Observed through the chain returned below; this only keeps an early settle from being
      // reported as unhandled before that chain attaches.
      done.catch(() => undefined);
      starting = start();
      return starting.then(() => done);
    },
    stop: shutdown,
    ready: () => active() && joined,
    started: () => startedPromise,
    stats: () => progress.snapshot(),
  };
}
