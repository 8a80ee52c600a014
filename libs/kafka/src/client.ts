// Before kafkajs: these swap functions kafkajs captures when it loads (module-swap.ts).
import { patchKafkaJsCrc32c } from './crc32c-patch.ts';
import { patchKafkaJsGrouping } from './grouping-patch.ts';
import { patchKafkaJsRecordDecoder, patchKafkaJsRecordEncoder } from './record-patch.ts';
import { patchKafkaJsTransactionRetry } from './txn-retry-patch.ts';
import { Kafka, type KafkaConfig, type RetryOptions, type SASLOptions } from 'kafkajs';
import { kafkaLogCreator, kafkaLogLevel } from './log-bridge.ts';
import type { KafkaLogger } from './logger.ts';
import { patchKafkaJsEncoder } from './encoder-patch.ts';
import { patchKafkaJsRequestQueue } from './request-queue-patch.ts';

/** Same values as `EHRFLOW_MODE`. */
export type KafkaMode = 'development' | 'production' | 'test';

export interface KafkaTlsConfig {
  /** PEM of the CA that signed the brokers' certificates; omit to trust the system store. */
  readonly ca?: string;
  /** Defaults to true. Turning it off is logged as a warning outside development. */
  readonly rejectUnauthorized?: boolean;
}

export interface KafkaSaslConfig {
  readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  readonly username: string;
  readonly password: string;
}

/** Retry of every kafkajs request (connect, metadata, produce, commit), before we see an error. */
export interface KafkaRetryConfig {
  readonly retries?: number;
  readonly initialRetryTimeMs?: number;
  readonly maxRetryTimeMs?: number;
}

export interface KafkaClientConfig {
  /** `host:port` list, or the comma-separated `KAFKA_BROKERS` string. */
  readonly brokers: readonly string[] | string;
  readonly clientId: string;
  /** Present means TLS. */
  readonly ssl?: KafkaTlsConfig;
  readonly sasl?: KafkaSaslConfig;
  readonly logger: KafkaLogger;
  readonly mode: KafkaMode;
  readonly connectionTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  readonly retry?: KafkaRetryConfig;
}

/**
 * A configured connection factory. Producers, consumer runners and admin clients of this package
 * are made from it; `kafkajs` is the escape hatch for admin tasks this package does not wrap.
 */
export interface KafkaClient {
  readonly kafkajs: Kafka;
  readonly logger: KafkaLogger;
  readonly clientId: string;
  readonly mode: KafkaMode;
}

/**
 * Retry defaults. kafkajs' own (5 retries, ~9 s in total) give up during an ordinary broker
 * restart or leader election; ours ride out ~35 s (300 ms doubling, capped at 8 s, 8 retries, ±20%
 * jitter) and then surface `KAFKA_UNAVAILABLE`, which the caller backs off on or exits with.
 */
export const DEFAULT_KAFKA_RETRY: Required<KafkaRetryConfig> = {
  retries: 8,
  initialRetryTimeMs: 300,
  maxRetryTimeMs: 8_000,
};

function toRetryOptions(cfg: KafkaRetryConfig | undefined): RetryOptions {
  const merged = { ...DEFAULT_KAFKA_RETRY, ...cfg };
  return {
    retries: merged.retries,
    initialRetryTime: merged.initialRetryTimeMs,
    maxRetryTime: merged.maxRetryTimeMs,
    factor: 0.2,
    multiplier: 2,
  };
}

function toSasl(sasl: KafkaSaslConfig): SASLOptions {
  // Spelled out per mechanism because kafkajs types each mechanism as its own literal.
  switch (sasl.mechanism) {
    case 'plain':
      return { mechanism: 'plain', username: sasl.username, password: sasl.password };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', username: sasl.username, password: sasl.password };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', username: sasl.username, password: sasl.password };
  }
}

function parseBrokers(brokers: readonly string[] | string): string[] {
  const list = typeof brokers === 'string' ? brokers.split(',') : [...brokers];
  return list.map((b) => b.trim()).filter((b) => b.length > 0);
}

/** The kafkajs configuration for a client config (exported for tests; no connection is made). */
export function toKafkaJsConfig(cfg: KafkaClientConfig): KafkaConfig {
  const brokers = parseBrokers(cfg.brokers);
  if (brokers.length === 0) throw new RangeError('createKafka: no brokers given');
  return {
    clientId: cfg.clientId,
    brokers,
    ssl: cfg.ssl
      ? {
          rejectUnauthorized: cfg.ssl.rejectUnauthorized ?? true,
          ...(cfg.ssl.ca ? { ca: [cfg.ssl.ca] } : {}),
        }
      : false,
    ...(cfg.sasl ? { sasl: toSasl(cfg.sasl) } : {}),
    connectionTimeout: cfg.connectionTimeoutMs ?? 3_000,
    requestTimeout: cfg.requestTimeoutMs ?? 30_000,
    // A half-open socket over a flaky link must fail the request, not hang it.
    enforceRequestTimeout: true,
    retry: toRetryOptions(cfg.retry),
    logLevel: kafkaLogLevel(cfg.logger),
    logCreator: kafkaLogCreator(cfg.logger),
  };
}

/**
 * The kafkajs patches every client relies on (each idempotent; see its file), with what is lost
 * when one cannot apply (another kafkajs version, or loaded too late), for the warning.
 */
const KAFKAJS_PATCHES: readonly { name: string; apply: () => string; without: string }[] = [
  {
    name: 'request-queue',
    apply: patchKafkaJsRequestQueue,
    without: 'expect TimeoutNegativeWarning on Node 24',
  },
  { name: 'encoder', apply: patchKafkaJsEncoder, without: 'produce encoding zero-fills its buffers' },
  {
    name: 'checksum',
    apply: patchKafkaJsCrc32c,
    without: 'record batches are checksummed in JavaScript',
  },
  { name: 'grouping', apply: patchKafkaJsGrouping, without: 'sends group messages in quadratic time' },
  {
    name: 'record encoder',
    apply: patchKafkaJsRecordEncoder,
    without: 'each produced record takes several buffers to encode',
  },
  {
    name: 'record decoder',
    apply: patchKafkaJsRecordDecoder,
    without: 'each fetched record is read through 64-bit Long objects',
  },
  {
    name: 'transaction retry',
    apply: patchKafkaJsTransactionRetry,
    without: 'a transaction begun right after a commit may wait ~300 ms',
  },
];

/**
 * Creates the Kafka client of a service: TLS and SASL from configuration, kafkajs logs forwarded
 * into our logger, tuned retries. The plaintext and SASL-over-plaintext warnings are not logged
 * here but by whoever reads the transport (`kafkaTls` of `@ehrflow/config`), once per process:
 * a process makes several clients.
 */
export function createKafka(cfg: KafkaClientConfig): KafkaClient {
  const logger = cfg.logger.child({ component: 'kafka', clientId: cfg.clientId });
  for (const { name, apply, without } of KAFKAJS_PATCHES) {
    const patch = apply();
    if (patch.startsWith('skipped')) logger.warn({ patch }, `kafkajs ${name} patch not applied; ${without}`);
  }
  const config = toKafkaJsConfig(cfg);
  if (cfg.ssl?.rejectUnauthorized === false && cfg.mode !== 'development') {
    logger.warn({ mode: cfg.mode }, 'Kafka TLS certificate verification is disabled');
  }
  return { kafkajs: new Kafka(config), logger, clientId: cfg.clientId, mode: cfg.mode };
}
