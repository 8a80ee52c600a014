import { hostname } from 'node:os';
import { parseEnvelopeKeys } from '@ehrflow/phi';
import { openReceiverBase, type ReceiverStartOptions, type RunningReceiverBase } from '@ehrflow/service';
import type { BillingConfig } from './config.ts';
import { createInbox, type Inbox } from './inbox.ts';
import { takeFile, type JobDeps } from './job.ts';
import { createBillingMetrics } from './metrics.ts';
import { createRedisProgress } from './progress.ts';

export type StartOptions = ReceiverStartOptions<BillingConfig>;

/** `stop` stops between two batches of the current file (its checkpoint intact), then disconnects. */
export interface RunningBillingReceiver extends RunningReceiverBase {
  readonly inbox: Inbox;
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
  const keys = parseEnvelopeKeys(config);
  // Kafka's transport warning is logged by the stage skeleton (or whoever made `options.kafka`),
  // Redis's by openReceiverBase.
  const base = await openReceiverBase({
    config,
    env,
    logger,
    subjects: [config.X12_RAW_TOPIC, config.X12_QUARANTINE_TOPIC].map((topic) => `${topic}-value`),
    kafka: options.kafka,
    defaultClientId: 'ehrflow-billing-receiver',
  });
  try {
    const sets = await base.producer(
      config.X12_TRANSACTIONAL_ID ?? `ehrflow-x12-${config.X12_SOURCE_ID}-${hostname()}`,
    );
    const quarantine = await base.producer();

    const deps: JobDeps = {
      envelopes: { sourceId: config.X12_SOURCE_ID, ...keys },
      store: createRedisProgress(base.redis, config.X12_SOURCE_ID, config.X12_DEDUPE_WINDOW_MS),
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
      stopping: base.stopping,
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
    return { inbox, ...base.running(() => inbox.stop()) };
  } catch (err) {
    await base.close();
    throw err;
  }
}
