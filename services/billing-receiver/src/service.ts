import { hostname } from 'node:os';
import { type Env } from '@ehrflow/config';
import { createProducer, type KafkaClient } from '@ehrflow/kafka';
import type { Logger } from '@ehrflow/logging';
import { parseKeyring, parsePseudonymKey } from '@ehrflow/phi';
import { createStageKafka, openReceiverBase, type ServiceMetrics } from '@ehrflow/service';
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
  /** A Kafka client made by the caller (the stage skeleton); one on the environment's transport otherwise. */
  readonly kafka?: KafkaClient;
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
  // Kafka's transport warning is logged by the stage skeleton (or whoever made `options.kafka`),
  // Redis's by openReceiverBase.
  const closers: (() => Promise<unknown>)[] = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  };
  try {
    const { redis, codec } = await openReceiverBase({
      redisUrl: config.REDIS_URL,
      registryUrl: config.SCHEMA_REGISTRY_URL,
      env,
      logger,
      subjects: [config.X12_RAW_TOPIC, config.X12_QUARANTINE_TOPIC].map((topic) => `${topic}-value`),
      closers,
    });
    const kafka =
      options.kafka ?? createStageKafka(config, { logger, defaultClientId: 'ehrflow-billing-receiver', env });
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
