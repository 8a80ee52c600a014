import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { PipelineError } from '@ehrflow/errors';
import type { RecordProducer } from '@ehrflow/kafka';
import { parseEnvelopeKeys } from '@ehrflow/phi';
import { openReceiverBase, type ReceiverStartOptions, type RunningReceiverBase } from '@ehrflow/service';
import { createAlertSink, type AlertSink } from './alerts.ts';
import type { ReceiverConfig } from './config.ts';
import { createRedisDedupe } from './dedupe.ts';
import { createFileDrop } from './file-drop.ts';
import { createIngest } from './ingest.ts';
import { createMllpListener, type MllpListener } from './listener.ts';
import { createReceiverMetrics } from './metrics.ts';
import { createGroupWriter, type GroupWriter } from './writer.ts';

export interface StartOptions extends ReceiverStartOptions<ReceiverConfig> {
  /** Extra alert sink (tests). */
  readonly alerts?: AlertSink;
}

/** A running receiver. */
/** A running receiver; `stop` stops accepting, answers the blocks already read, flushes Kafka, disconnects. */
export interface RunningReceiver extends RunningReceiverBase {
  readonly port: number;
  readonly writer: GroupWriter;
  readonly listener: MllpListener;
}

/**
 * Wires the receiver: keyring, Redis dedupe window, the raw and quarantine subjects (which must
 * be registered: services never register), an idempotent producer for messages and a
 * transactional one for batches, then the MLLP listener.
 * @throws PipelineError SCHEMA_NOT_REGISTERED, KEY_MISSING, KAFKA_UNAVAILABLE, REDIS_UNAVAILABLE
 */
export async function startReceiver(options: StartOptions): Promise<RunningReceiver> {
  const { config, logger } = options;
  const env = options.env ?? process.env;
  const keys = parseEnvelopeKeys(config);
  // Kafka's transport warning is logged by the stage skeleton (or whoever made `options.kafka`),
  // Redis's by openReceiverBase.
  const tls =
    config.MLLP_TLS_CERT_FILE !== undefined && config.MLLP_TLS_KEY_FILE !== undefined
      ? {
          cert: readFileSync(config.MLLP_TLS_CERT_FILE, 'utf8'),
          key: readFileSync(config.MLLP_TLS_KEY_FILE, 'utf8'),
          ...(config.MLLP_TLS_CLIENT_CA_FILE === undefined
            ? {}
            : { clientCa: readFileSync(config.MLLP_TLS_CLIENT_CA_FILE, 'utf8') }),
        }
      : undefined;
  if (config.MLLP_TLS_CLIENT_CA_FILE !== undefined && tls === undefined) {
    throw new PipelineError(
      'CONFIG_INVALID',
      'MLLP_TLS_CLIENT_CA_FILE needs MLLP_TLS_CERT_FILE and MLLP_TLS_KEY_FILE (mutual TLS is TLS first)',
      { context: { field: 'MLLP_TLS_CLIENT_CA_FILE' } },
    );
  }
  if (tls === undefined && config.EHRFLOW_MODE !== 'development') {
    logger.warn(
      { reason: 'plaintext-outside-development' },
      'MLLP listener without TLS (set MLLP_TLS_CERT_FILE and MLLP_TLS_KEY_FILE)',
    );
  }
  const base = await openReceiverBase({
    config,
    env,
    logger,
    subjects: [config.MLLP_RAW_TOPIC, config.MLLP_QUARANTINE_TOPIC].map((topic) => `${topic}-value`),
    autoPipelining: true,
    kafka: options.kafka,
    defaultClientId: 'ehrflow-mllp-receiver',
  });
  try {
    const producers: RecordProducer[] = [];
    for (let i = 0; i < config.MLLP_PRODUCERS; i++) producers.push(await base.producer());
    const producer = producers[0] as RecordProducer;
    const atomicProducer = await base.producer(
      config.MLLP_TRANSACTIONAL_ID ?? `ehrflow-mllp-${config.MLLP_SOURCE_ID}-${hostname()}`,
    );

    const metrics = options.metrics ? createReceiverMetrics(options.metrics) : undefined;
    const writer = createGroupWriter({
      topic: config.MLLP_RAW_TOPIC,
      producers,
      atomicProducer,
      maxPending: config.MLLP_MAX_PENDING,
      maxSendBatch: config.MLLP_MAX_SEND_BATCH,
    });
    const pendingTimer = setInterval(() => metrics?.pending.set({}, writer.pending), 1_000);
    base.onClose(() => Promise.resolve(clearInterval(pendingTimer)));
    const sink = createAlertSink({
      ...(config.ALERT_FILE !== undefined ? { file: config.ALERT_FILE } : {}),
      logFallback: config.ALERT_LOG_FALLBACK,
      logger,
    });
    const alerts: AlertSink = {
      send: (alert) => Promise.all([sink.send(alert), options.alerts?.send(alert)]).then(() => undefined),
    };
    const ingest = createIngest({
      envelopes: { sourceId: config.MLLP_SOURCE_ID, ...keys },
      writer,
      dedupe: createRedisDedupe(base.redis, config.MLLP_DEDUPE_WINDOW_MS),
      quarantine: (message) => producer.send(config.MLLP_QUARANTINE_TOPIC, [message]),
      alerts,
      logger,
      ...(metrics ? { metrics } : {}),
      ackApplication: config.MLLP_ACK_APPLICATION,
      ackFacility: config.MLLP_ACK_FACILITY,
      processingIds: new Set(config.MLLP_PROCESSING_IDS.split(',').map((s) => s.trim())),
    });
    const listener = createMllpListener({
      ingest,
      writer,
      logger,
      ...(metrics ? { metrics } : {}),
      maxMessageBytes: config.MLLP_MAX_MESSAGE_BYTES,
      idleTimeoutMs: config.MLLP_IDLE_TIMEOUT_MS,
      readTimeoutMs: config.MLLP_READ_TIMEOUT_MS,
      maxConnectionsPerSender: config.MLLP_MAX_CONNECTIONS_PER_SENDER,
      maxConnections: config.MLLP_MAX_CONNECTIONS,
      maxQueuedPerConnection: config.MLLP_MAX_QUEUED_PER_CONNECTION,
      ackApplication: config.MLLP_ACK_APPLICATION,
      ackFacility: config.MLLP_ACK_FACILITY,
      ...(tls ? { tls } : {}),
    });
    const { port } = await listener.listen(config.MLLP_PORT, config.MLLP_HOST);
    const drop =
      config.MLLP_DROP_DIR === undefined
        ? undefined
        : createFileDrop({
            dir: config.MLLP_DROP_DIR,
            ingest,
            logger,
            pollMs: config.MLLP_DROP_POLL_MS,
            maxBytes: config.MLLP_MAX_MESSAGE_BYTES,
          });
    drop?.start();
    return {
      port,
      writer,
      listener,
      ...base.running(async () => {
        await drop?.stop();
        await listener.close();
        await writer.idle();
      }),
    };
  } catch (err) {
    await base.close();
    throw err;
  }
}
