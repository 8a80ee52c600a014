import { createCodec, createRegistry, type SchemaRegistry } from '@ehrflow/contracts';
import { PipelineError } from '@ehrflow/errors';
import type { RetryPolicy } from '@ehrflow/resilience';
import {
  connectAdmin,
  createKafka,
  createProducer,
  createTopicLimits,
  sendLimit,
  valueSubject,
  type KafkaClient,
  type RecordProducer,
} from '@ehrflow/kafka';
import type { Env } from '@ehrflow/config';
import type { Logger } from '@ehrflow/logging';
import { connectRedis, waitAtStart } from '@ehrflow/service';
import { parseEnvelopeKeys } from '@ehrflow/phi';
import { createDbPool } from './db-pool.ts';
import type { ExtractorEnv } from './config.ts';
import { createJobAlertSink } from './job-alert.ts';
import { DEFAULT_MAX_RESOURCE_BYTES, createJobManager, type JobManager } from './job-manager.ts';
import { createJobStore, type JobStore } from './job-store.ts';
import type { ExtractorMetrics } from './metrics.ts';
import { resolveTokenUrls } from './source-discovery.ts';
import { createSourceRuntime, type SourceRuntime } from './source-runtime.ts';
import { loadSources } from './sources.ts';
import { extractorTransport } from './transport.ts';

/** A built extractor: the job manager plus what it holds open. */
export interface Extractor {
  readonly jobs: JobManager;
  readonly store: JobStore;
  readonly sources: ReadonlyMap<string, SourceRuntime>;
  /** Readiness: Redis answers and the database answers. */
  ready(): Promise<boolean>;
  /** Stops the jobs (left resumable) and closes every connection. */
  close(): Promise<void>;
}

/**
 * Builds the extractor from validated configuration: sources (keys and secrets read now, token
 * URLs the file omits found by SMART discovery),
 * PostgreSQL job store (tables created), Redis, schema registry (both subjects must be
 * registered: services never auto-register), an idempotent producer, and the job manager.
 * Kafka, Redis and PostgreSQL use TLS when `rawEnv` configures it (see `transport.ts`).
 * Nothing runs until `jobs.run()` or `jobs.start()`.
 */
export async function buildExtractor(
  env: ExtractorEnv,
  logger: Logger,
  metrics?: ExtractorMetrics,
  rawEnv: Env = process.env,
  /** The stage skeleton's Kafka client (its transport warning logged); otherwise made here. */
  kafkaClient?: KafkaClient,
): Promise<Extractor> {
  const retryPolicy: RetryPolicy = {
    retries: env.EXTRACTOR_HTTP_RETRIES,
    initialMs: Math.min(200, env.EXTRACTOR_RETRY_MAX_MS),
    factor: 2,
    maxMs: env.EXTRACTOR_RETRY_MAX_MS,
    minRetryWindowMs: env.EXTRACTOR_HTTP_RETRY_WINDOW_MS,
    // A 429 is backpressure: retried until the job's stall timeout aborts it, never counted out.
    rateLimitRetries: Number.POSITIVE_INFINITY,
  };
  // Token URLs the file omits come from SMART discovery, before anything is opened. Discovery has
  // no job (and so no stall timeout) around it: there a 429 counts like any failed attempt.
  const sourceList = await resolveTokenUrls(loadSources(env.EXTRACTOR_SOURCES_FILE), {
    retryPolicy: { ...retryPolicy, rateLimitRetries: retryPolicy.retries },
    logger,
  });
  const transport = extractorTransport(rawEnv, logger, kafkaClient !== undefined);
  const { keyring, pseudonymKey } = parseEnvelopeKeys(env);
  const opened: (() => Promise<unknown>)[] = [];
  const closeAll = async (): Promise<void> => {
    for (const close of opened.reverse()) await close().catch(() => undefined);
  };
  try {
    // application_name lets the server side tell this pool apart (pg_stat_activity, pg_stat_ssl).
    const pool = createDbPool({ ...transport.pg, max: 5, applicationName: 'extractor' });
    // An idle client losing its connection must not crash the process; the next checkout reconnects.
    pool.on('error', (err) => logger.warn({ err: { name: err.name } }, 'idle database connection lost'));
    const store = createJobStore(pool, env.EXTRACTOR_DB_SCHEMA);
    opened.push(() => store.close());
    await waitAtStart('database', () => store.migrate(), { logger });

    // Its plaintext warning was logged with the other transports' by extractorTransport.
    const redis = await connectRedis({
      url: env.REDIS_URL,
      env: rawEnv,
      logger,
      purpose: 'the shared rate limiters and token locks',
      warn: false,
      maxRetriesPerRequest: 3,
    });
    opened.push(() => redis.quit());

    const registry = createRegistry({ url: env.SCHEMA_REGISTRY_URL });
    opened.push(() => registry.close());
    await waitAtStart(
      'registry',
      () => requireSubjects(registry, [env.EXTRACTOR_RAW_TOPIC, env.EXTRACTOR_JOBS_TOPIC]),
      {
        logger,
      },
    );
    const codec = createCodec(registry, {
      onRefreshError: (err, subject) =>
        logger.warn({ err, subject }, 'registry refresh failed; keeping the cached version'),
    });

    const kafka =
      kafkaClient ??
      createKafka({
        brokers: env.KAFKA_BROKERS,
        clientId: env.KAFKA_CLIENT_ID ?? 'ehrflow-extractor',
        logger,
        mode: env.EHRFLOW_MODE,
        ...transport.kafka,
      });
    const maxResourceBytes = await rawRecordLimit(kafka, env, logger);
    // Produce calls stay under what the raw topic takes, also when it takes less than 1 MiB: the
    // broker measures all of a call's records for one partition, as one batch, against it.
    const producer: RecordProducer = createProducer({
      kafka,
      codec,
      logger,
      maxSendBytes: sendLimit([maxResourceBytes]),
    });
    await producer.connect();
    opened.push(() => producer.disconnect());

    const sources = new Map(
      sourceList.map((config) => [
        config.id,
        createSourceRuntime(config, { redis, keyring, retryPolicy, logger, ...(metrics ? { metrics } : {}) }),
      ]),
    );
    const jobs = createJobManager({
      store,
      sources,
      sink: { send: (messages) => producer.send(env.EXTRACTOR_RAW_TOPIC, messages) },
      events: {
        send: (event) => producer.send(env.EXTRACTOR_JOBS_TOPIC, [{ key: event.jobId, value: event }]),
      },
      keyring,
      pseudonymKey,
      leaseMs: env.EXTRACTOR_LEASE_MS,
      batchSize: env.EXTRACTOR_BATCH_SIZE,
      batchMaxBytes: env.EXTRACTOR_BATCH_MAX_BYTES,
      maxResourceBytes,
      batchLingerMs: env.EXTRACTOR_BATCH_LINGER_MS,
      progressIntervalMs: env.EXTRACTOR_PROGRESS_INTERVAL_MS,
      maxExportAttempts: env.EXTRACTOR_MAX_EXPORT_ATTEMPTS,
      retryPolicy,
      stallTimeoutMs: env.EXTRACTOR_STALL_TIMEOUT_MS,
      logger,
      resumeJobs: env.EXTRACTOR_RESUME_JOBS,
      alerts: createJobAlertSink(env.ALERT_FILE, logger),
      ...(metrics ? { metrics } : {}),
    });
    return {
      jobs,
      store,
      sources,
      async ready() {
        const [redisOk, dbOk] = await Promise.all([
          redis.ping().then(
            () => true,
            () => false,
          ),
          pool.query('SELECT 1').then(
            () => true,
            () => false,
          ),
        ]);
        return redisOk && dbOk;
      },
      async close() {
        await jobs.stop();
        await closeAll();
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

async function requireSubjects(registry: SchemaRegistry, topics: readonly string[]): Promise<void> {
  for (const topic of topics) {
    try {
      await registry.latest(valueSubject(topic));
    } catch (err) {
      if (err instanceof PipelineError && err.code === 'REGISTRY_UNAVAILABLE') throw err;
      throw new PipelineError('SCHEMA_NOT_REGISTERED', `subject ${valueSubject(topic)} is not registered`, {
        cause: err,
        context: { subject: valueSubject(topic) },
      });
    }
  }
}

/**
 * The largest resource the extractor produces: the raw topic's `max.message.bytes` as the broker
 * applies it, less 16 KiB for the envelope's own fields, capped by EXTRACTOR_MAX_RESOURCE_BYTES
 * when set. A topic whose limit cannot be read (no `DescribeConfigs` permission) leaves the
 * setting, else {@link DEFAULT_MAX_RESOURCE_BYTES}, and a warning.
 */
async function rawRecordLimit(kafka: KafkaClient, env: ExtractorEnv, logger: Logger): Promise<number> {
  const topic = env.EXTRACTOR_RAW_TOPIC;
  let admin: Awaited<ReturnType<typeof connectAdmin>> | undefined;
  const limits = createTopicLimits({
    admin: async () => (admin = await connectAdmin(kafka)),
    ...(env.EXTRACTOR_MAX_RESOURCE_BYTES !== undefined ? { ceiling: env.EXTRACTOR_MAX_RESOURCE_BYTES } : {}),
    ceilingName: 'EXTRACTOR_MAX_RESOURCE_BYTES',
    fallback: DEFAULT_MAX_RESOURCE_BYTES,
    logger,
  });
  try {
    const limit = await limits.limitOf(topic);
    logger.info({ topic, maxResourceBytes: limit }, 'resource size limit');
    return limit;
  } finally {
    await admin?.disconnect().catch(() => undefined);
  }
}
