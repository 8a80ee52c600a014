import { booleanFlag, pipelineEnv, port, positiveInt, receiverStageEnv, sourceId, z } from '@ehrflow/config';

/**
 * Environment of the MLLP receiver: the shared pipeline settings, Redis for the dedupe window,
 * and the listener's limits. Every limit has a default sized for a hospital interface engine
 * (a few connections per sender, messages of a few KB, batches of a few MB).
 */
export const receiverEnv = z.object({
  ...pipelineEnv,
  REDIS_URL: z.string().min(1),
  /** Source id written on every envelope (one receiver deployment per feed or site). */
  MLLP_SOURCE_ID: sourceId,
  MLLP_PORT: port(2575),
  MLLP_HOST: z.string().min(1).default('0.0.0.0'),
  /** PEM files of the listener's certificate and key: both set means MLLP over TLS. */
  MLLP_TLS_CERT_FILE: z.string().min(1).optional(),
  MLLP_TLS_KEY_FILE: z.string().min(1).optional(),
  /**
   * PEM file of the CA(s) that sign senders' client certificates: set means mutual TLS — a sender
   * without a certificate from them is refused at the handshake. Needs MLLP_TLS_CERT_FILE/KEY_FILE.
   */
  MLLP_TLS_CLIENT_CA_FILE: z.string().min(1).optional(),
  /** Largest block accepted (a batch file is one block); larger ones are answered AR and the connection closed. */
  MLLP_MAX_MESSAGE_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(4 * 1024 * 1024),
  /** A connection that sends nothing for this long is closed. */
  MLLP_IDLE_TIMEOUT_MS: positiveInt(300_000),
  /** A block that has started must end within this long (a stalled sender mid-message). */
  MLLP_READ_TIMEOUT_MS: positiveInt(30_000),
  /** Concurrent connections per remote address; more are closed at once. */
  MLLP_MAX_CONNECTIONS_PER_SENDER: positiveInt(4),
  MLLP_MAX_CONNECTIONS: positiveInt(256),
  /** Blocks read ahead per connection (pipelining senders); reading pauses beyond it. */
  MLLP_MAX_QUEUED_PER_CONNECTION: positiveInt(8),
  /** Envelopes waiting for Kafka across connections; connections stop reading beyond it. */
  MLLP_MAX_PENDING: positiveInt(2_000),
  /** Idempotent producers writing ehr.raw: requests in flight at once (group commit per producer). */
  MLLP_PRODUCERS: z.coerce.number().int().min(1).max(8).default(1),
  /** Largest number of envelopes in one Kafka request. */
  MLLP_MAX_SEND_BATCH: positiveInt(500),
  ...receiverStageEnv('MLLP', 7 * 24 * 3_600_000),
  /** MSH-3/MSH-4 of the ACKs this receiver sends. */
  MLLP_ACK_APPLICATION: z.string().min(1).default('EHRFLOW'),
  MLLP_ACK_FACILITY: z.string().min(1).default('EHRFLOW'),
  /** Processing ids (MSH-11) accepted; others are answered AR/CR with error 202. */
  MLLP_PROCESSING_IDS: z.string().default('P,T,D'),
  /** A folder of dropped batch files (`*.hl7`), taken in like MLLP blocks; unset means none. */
  MLLP_DROP_DIR: z.string().min(1).optional(),
  MLLP_DROP_POLL_MS: positiveInt(1_000),
  /** Alerts (rejected batches) as JSON lines; without it they go to the log at warn. */
  ALERT_FILE: z.string().min(1).optional(),
  ALERT_LOG_FALLBACK: booleanFlag(true),
});

export type ReceiverConfig = z.infer<typeof receiverEnv>;
