import type { Env } from '@ehrflow/config';
import { createCodec, createRegistry, type Codec } from '@ehrflow/contracts';
import { createProducer, type KafkaClient, type RecordProducer } from '@ehrflow/kafka';
import type { Logger } from '@ehrflow/logging';
import type { Redis } from 'ioredis';
import type { ServiceMetrics } from './metrics.ts';
import { createStageKafka, type StageKafkaSettings } from './stage-kafka.ts';
import { waitAtStart } from './start-wait.ts';
import { connectRedis } from './transport.ts';

/** A running receiver, as its stage sees it. */
export interface RunningReceiverBase {
  /** Ready while not stopping and Redis answers. */
  ready(): boolean;
  /** Stops taking data in, finishes what is in flight, then closes everything it opened. */
  stop(): Promise<void>;
}

/** How a receiver is started: by its stage (`runStage`), a test or a tool. */
export interface ReceiverStartOptions<C> {
  readonly config: C;
  readonly logger: Logger;
  /** The raw environment (transport variables); process.env by default. */
  readonly env?: Env;
  /** The stage's metrics registry; no receiver metrics without it. */
  readonly metrics?: ServiceMetrics;
  /** The stage skeleton's Kafka client; one on the environment's transport otherwise. */
  readonly kafka?: KafkaClient;
}

export interface ReceiverBaseOptions {
  /** The receiver's validated configuration: Kafka settings, `REDIS_URL`, `SCHEMA_REGISTRY_URL`. */
  readonly config: StageKafkaSettings & { readonly REDIS_URL: string; readonly SCHEMA_REGISTRY_URL: string };
  /** What `redisTls` (and `kafkaTls`, when no `kafka` is given) read; Redis's plaintext warning is logged here. */
  readonly env: Env;
  readonly logger: Logger;
  /** Subjects that must be registered before the receiver takes anything in. */
  readonly subjects: readonly string[];
  /** Redis auto-pipelining (many small writes per event-loop turn). */
  readonly autoPipelining?: boolean;
  /**
   * The stage skeleton's Kafka client (its transport warning logged there); otherwise one on the
   * environment's transport with `defaultClientId` (tests, tools).
   */
  readonly kafka?: KafkaClient | undefined;
  readonly defaultClientId: string;
  /**
   * How long start-up waits for Redis and the registry when they do not answer (a receiver
   * restarted during an outage); `START_WAIT_MS` by default. Permanent failures (a subject not
   * registered) end start-up at once.
   */
  readonly startWaitMs?: number;
}

/** What a receiver opened; `close` undoes all of it, last opened first. */
export interface ReceiverBase {
  readonly redis: Redis;
  readonly codec: Codec;
  readonly kafka: KafkaClient;
  /** A connected producer (transactional when `transactionalId` is given), disconnected by `close`. */
  producer(transactionalId?: string): Promise<RecordProducer>;
  /** Adds something the receiver opened itself to what `close` undoes. */
  onClose(close: () => Promise<unknown>): void;
  /** Closes everything, last opened first; a failing close does not stop the others. */
  close(): Promise<void>;
  /** True once the receiver's `stop` was called. */
  readonly stopping: () => boolean;
  /**
   * The receiver's `ready` (not stopping, Redis answering) and an idempotent `stop` that marks it
   * stopping, runs `drain` (stop taking data in, finish what is in flight) and closes everything.
   */
  running(drain: () => Promise<void>): RunningReceiverBase;
}

/**
 * What a receiver of outside data (MLLP, billing files) opens before it listens: a connected
 * Redis for its checkpoints and duplicate window, a registry codec with its subjects checked, and
 * the Kafka client its producers share. Redis or the registry not answering is waited out for
 * `startWaitMs` (a receiver restarted during an outage starts once it is over, instead of exiting
 * into a restart loop). When a step fails, what was opened is closed again.
 * @throws PipelineError REDIS_UNAVAILABLE or REGISTRY_UNAVAILABLE (after the wait), SCHEMA_NOT_REGISTERED
 */
export async function openReceiverBase(options: ReceiverBaseOptions): Promise<ReceiverBase> {
  const { logger, config } = options;
  const closers: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const closer of closers.splice(0).reverse()) await closer().catch(() => undefined);
  };
  let stopped: Promise<void> | undefined;
  const startWait = options.startWaitMs === undefined ? {} : { windowMs: options.startWaitMs };
  try {
    const redis = await connectRedis({
      url: config.REDIS_URL,
      env: options.env,
      logger,
      purpose: 'checkpoints and the duplicate window',
      startWait,
      ...(options.autoPipelining === true ? { autoPipelining: true } : {}),
    });
    closers.push(() => redis.quit());
    const registry = createRegistry({ url: config.SCHEMA_REGISTRY_URL });
    closers.push(() => registry.close());
    const codec = createCodec(registry, {
      onRefreshError: (err, subject) =>
        logger.warn({ err, subject }, 'registry refresh failed; keeping the cached version'),
    });
    for (const subject of options.subjects)
      await waitAtStart('registry', () => codec.latestVersion(subject), { logger, ...startWait });
    const kafka =
      options.kafka ??
      createStageKafka(config, { logger, defaultClientId: options.defaultClientId, env: options.env });
    return {
      redis,
      codec,
      kafka,
      async producer(transactionalId) {
        const producer = createProducer({
          kafka,
          codec,
          logger,
          ...(transactionalId === undefined ? {} : { transactionalId }),
        });
        await producer.connect();
        closers.push(() => producer.disconnect());
        return producer;
      },
      onClose: (closer) => closers.push(closer),
      close,
      stopping: () => stopped !== undefined,
      running: (drain) => ({
        ready: () => stopped === undefined && redis.status === 'ready',
        stop() {
          stopped ??= drain().finally(close);
          return stopped;
        },
      }),
    };
  } catch (err) {
    await close();
    throw err;
  }
}
