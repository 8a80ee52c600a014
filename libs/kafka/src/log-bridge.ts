import { logLevel, type LogEntry, type logCreator } from 'kafkajs';
import type { KafkaLogger } from './logger.ts';

/**
 * Fields of a kafkajs log entry that are safe to forward: where and what, never which data.
 * Everything else is dropped — notably `payload`, `request` and `response`, which carry protocol
 * buffers (and so record bytes) when kafkajs' protocol debugging is switched on, and `stack`.
 */
const SAFE_FIELDS = [
  'broker',
  'clientId',
  'groupId',
  'memberId',
  'leaderId',
  'generationId',
  'topic',
  'partition',
  'offset',
  'correlationId',
  'apiName',
  'apiKey',
  'apiVersion',
  'retryCount',
  'retryTime',
  'transactionalId',
  'producerId',
  'isolationLevel',
  'error',
  'type',
  'code',
  'size',
  'duration',
  'pendingDuration',
  'currentPendingQueueSize',
  'currentInflightRequests',
] as const;

/**
 * kafkajs messages we know to be misleading in this product, forwarded at debug level instead.
 * Each needs a reason.
 */
const DEMOTED: readonly { readonly prefix: string; readonly error?: string; readonly why: string }[] = [
  {
    // Our producers cap kafkajs' retries so a dead broker surfaces as KAFKA_UNAVAILABLE instead of
    // hanging forever. The duplicate a re-sent batch may create is harmless: in transactional mode
    // the failed transaction is aborted, and in at-least-once mode every record carries a
    // deterministic record id, so consumers downstream de-duplicate.
    prefix: 'Limiting retries for the idempotent producer',
    why: 'bounded retries by design',
  },
  {
    // The coordinator's "in a moment" (CONCURRENT_TRANSACTIONS) to a transaction begun while the
    // previous commit's markers are being written: `txn-retry-patch.ts` retries it after a few
    // milliseconds. A retry that runs out of time still reaches the producer's own "Failed to
    // send messages" error.
    prefix: 'Response AddPartitionsToTxn',
    error: 'The producer attempted to update a transaction while another concurrent operation',
    why: 'retried within milliseconds by design',
  },
];

function isDemoted(message: string, error: unknown): boolean {
  return DEMOTED.some(
    (d) =>
      message.startsWith(d.prefix) &&
      (d.error === undefined || (typeof error === 'string' && error.startsWith(d.error))),
  );
}

function pickSafe(log: LogEntry['log']): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of SAFE_FIELDS) {
    const value: unknown = log[key];
    if (value === undefined || value === null) continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      out[key] = value;
    else if (value instanceof Error) out[key] = `${value.name}: ${value.message}`;
  }
  return out;
}

/** Maps a kafkajs level to the name of the pino method that receives it. */
export function levelName(level: logLevel): 'error' | 'warn' | 'info' | 'debug' | undefined {
  switch (level) {
    case logLevel.ERROR:
      return 'error';
    case logLevel.WARN:
      return 'warn';
    case logLevel.INFO:
      return 'info';
    case logLevel.DEBUG:
      return 'debug';
    case logLevel.NOTHING:
      return undefined;
  }
}

/** The kafkajs log level matching what the logger would print (debug only when it is enabled). */
export function kafkaLogLevel(logger: KafkaLogger): logLevel {
  return logger.isLevelEnabled?.('debug') === true ? logLevel.DEBUG : logLevel.INFO;
}

/**
 * A kafkajs `logCreator` that forwards into our logger: one child `{ component: 'kafkajs' }`,
 * the kafkajs namespace (`Consumer`, `Connection`, ...) as `ns`, only allow-listed fields, and
 * the kafkajs message as the log message (kafkajs writes those from names, ids and error types).
 */
export function kafkaLogCreator(logger: KafkaLogger): logCreator {
  const target = logger.child({ component: 'kafkajs' });
  return () =>
    ({ namespace, level, log }) => {
      let method = levelName(level);
      if (method === undefined) return;
      const message = typeof log.message === 'string' ? log.message : '';
      if (isDemoted(message, log.error)) method = 'debug';
      target[method]({ ns: namespace, ...pickSafe(log) }, message);
    };
}
