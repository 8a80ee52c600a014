import { hostname } from 'node:os';
import { kafkaTls, redisTls, type Env } from '@ehrflow/config';
import { createCodec, createRegistry } from '@ehrflow/contracts';
import { PipelineError } from '@ehrflow/errors';
import { createKafka, createProducer } from '@ehrflow/kafka';
import type { Logger } from '@ehrflow/logging';
import { parseKeyring, parsePseudonymKey } from '@ehrflow/phi';
import type { ServiceMetrics } from '@ehrflow/service';
import { Redis } from 'ioredis';
import type { BillingConfig } from './config.ts';
import { createInbox, type Inbox } from './inbox.ts';
import { takeFile, type JobDeps } from './job.ts';
import { createBillingMetrics } from './metrics.ts';
import { createRedisProgress } from './progress.ts';

export interface StartOptions {
  readonly config: BillingConfig;
  readonly logger: Logger;
  readonly env?: Env;
  readonly metrics?: ServiceMetrics;
}

export interface RunningBillingReceiver {
  readonly inbox: Inbox;
  ready(): boolean;
  /** Stops between two batches of the current file (its checkpoint intact), then disconnects. */
  stop(): Promise<void>;
}

/**
 * Wires the receiver: keyring, Redis (checkpoints and the duplicate window), the raw and
 * quarantine subjects (which must be registered), a transactional producer (one transaction per
 * batch of transaction sets) and an idempotent one for quarantine records, then the inbox.
 * @throws PipelineError SCHEMA_NOT_REGISTERED, KEY_MISSING, KAFKA_UNAVAILABLE, REDIS_UNAVAILABLE
 */
export async function startBillingReceiver(options: StartOptions): Promise<RunningBillingReceiver> {
  const { config, logger } = options;
  const env = options.env ?? process.env;
  const keyring = parseKeyring(config.PHI_KEYRING);
  const pseudonymKey = parsePseudonymKey(config.PSEUDONYM_KEY);
  const kafkaTransport = kafkaTls(env);
  const redisTransport = redisTls(env);
  for (const warning of [kafkaTransport.warning, redisTransport.warning]) {
    if (warning !== undefined)
      logger.warn({ client: warning.client, reason: warning.reason }, warning.message);
  }
  const closers: (() => Promise<unknown>)[] = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  };
  try {
    const redis = new Redis(config.REDIS_URL, {
      ...(redisTransport.tls ? { tls: redisTransport.tls } : {}),
      maxRetriesPerRequest: 2,
      lazyConnect: true,
    });
    closers.push(() => redis.quit());
    await redis.connect().catch((err: unknown) => {
      throw new PipelineError('REDIS_UNAVAILABLE', 'Redis could not be reached', { cause: err });
    });
    const registry = createRegistry({ url: config.SCHEMA_REGISTRY_URL });
    closers.push(() => registry.close());
    const codec = createCodec(registry, {
      onRefreshError: (err, subject) =>
        logger.warn({ err, subject }, 'registry refresh failed; keeping the cached version'),
    });
    for (const topic of [config.X12_RAW_TOPIC, config.X12_QUARANTINE_TOPIC])
      await codec.latestVersion(`${topic}-value`);
    const kafka = createKafka({
      brokers: config.KAFKA_BROKERS,
      clientId: config.KAFKA_CLIENT_ID ?? 'ehrflow-billing-receiver',
      logger,
      mode: config.EHRFLOW_MODE,
      ...(kafkaTransport.ssl ? { ssl: kafkaTransport.ssl } : {}),
      ...(kafkaTransport.sasl ? { sasl: kafkaTransport.sasl } : {}),
    });
    const sets = createProducer({
      kafka,
      codec,
      logger,
      transactionalId: config.X12_TRANSACTIONAL_ID ?? `ehrflow-x12-${config.X12_SOURCE_ID}-${hostname()}`,
    });
    await sets.connect();
    closers.push(() => sets.disconnect());
    const quarantine = createProducer({ kafka, codec, logger });
    await quarantine.connect();
    closers.push(() => quarantine.disconnect());

    let draining = false;
    const deps: JobDeps = {
      envelopes: { sourceId: config.X12_SOURCE_ID, keyring, pseudonymKey },
      store: createRedisProgress(redis, config.X12_SOURCE_ID, config.X12_DEDUPE_WINDOW_MS),
      writeSets: (messages) => sets.send(config.X12_RAW_TOPIC, messages),
      quarantine: (message) => quarantine.send(config.X12_QUARANTINE_TOPIC, [message]),
      logger,
      ...(options.metrics ? { metrics: createBillingMetrics(options.metrics) } : {}),
      inboxDir: config.X12_INBOX_DIR,
      outboxDir: config.X12_OUTBOX_DIR,
      party: {
        qualifier: config.X12_ACK_QUALIFIER,
        id: config.X12_ACK_ID,
        applicationCode: config.X12_ACK_ID,
      },
      maxFileBytes: config.X12_MAX_FILE_BYTES,
      maxSegmentBytes: config.X12_MAX_SEGMENT_BYTES,
      batchSets: config.X12_BATCH_SETS,
      stopping: () => draining,
    };
    const inbox = createInbox({
      dir: config.X12_INBOX_DIR,
      suffixes: config.X12_SUFFIXES.split(',')
        .map((s) => s.trim().toLowerCase())
        .filter((s) => s !== ''),
      pollMs: config.X12_POLL_MS,
      stableMs: config.X12_STABLE_MS,
      requireMarker: config.X12_REQUIRE_MARKER,
      take: (name) => takeFile(deps, name),
      logger,
    });
    inbox.start();
    let stopping: Promise<void> | undefined;
    return {
      inbox,
      ready: () => !draining && redis.status === 'ready',
      stop() {
        stopping ??= (async () => {
          draining = true;
          await inbox.stop();
          await closeAll();
        })();
        return stopping;
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
