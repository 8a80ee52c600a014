import { Kafka, logLevel, type Admin, type KafkaConfig } from 'kafkajs';
import { isPipelineError, PipelineError } from '@ehrflow/errors';
import { toKafkaJsConfig, type KafkaClientConfig } from './client.ts';
import { toKafkaError } from './kafka-errors.ts';
import { patchKafkaJsRequestQueue } from './request-queue-patch.ts';

export interface KafkaProbeOptions {
  /** Connection and request timeout of one probe. Default 1500 ms. */
  readonly timeoutMs?: number;
}

/** A reachability probe of the Kafka cluster (fits `DependencyProbe` of `@ehrflow/service`). */
export interface KafkaProbe {
  /**
   * One metadata round trip to a broker.
   * @throws PipelineError KAFKA_UNAVAILABLE (or KAFKA_REJECTED, e.g. SASL refused).
   */
  probe(): Promise<void>;
  /** Disconnects the probe's admin connection. */
  close(): Promise<void>;
}

/**
 * The kafkajs configuration of a probe: the service's brokers, TLS and SASL, but no retries and
 * short timeouts (a probe must answer now; retrying is the next probe's job), and kafkajs' own
 * logging off, since it would log every failed attempt while the caller logs changes of state.
 */
export function probeKafkaJsConfig(cfg: KafkaClientConfig, timeoutMs: number): KafkaConfig {
  return {
    ...toKafkaJsConfig(cfg),
    connectionTimeout: Math.min(cfg.connectionTimeoutMs ?? timeoutMs, timeoutMs),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  };
}

/**
 * Creates a Kafka probe on its own connection (so a busy or retrying service client neither
 * delays it nor is disturbed by it). It keeps one admin connection while the cluster answers and
 * drops it after a failure, so the next probe reconnects from the bootstrap brokers.
 * @see https://kafka.apache.org/protocol#The_Messages_Metadata
 */
export function createKafkaProbe(cfg: KafkaClientConfig, options: KafkaProbeOptions = {}): KafkaProbe {
  patchKafkaJsRequestQueue();
  const kafka = new Kafka(probeKafkaJsConfig(cfg, options.timeoutMs ?? 1500));
  let connected: Promise<Admin> | undefined;

  const connect = (): Promise<Admin> => {
    connected ??= (async () => {
      const admin = kafka.admin();
      await admin.connect();
      return admin;
    })();
    return connected;
  };

  const drop = async (): Promise<void> => {
    const current = connected;
    connected = undefined;
    await current?.then((admin) => admin.disconnect()).catch(() => undefined);
  };

  return {
    async probe() {
      try {
        const admin = await connect();
        const cluster = await admin.describeCluster();
        if (cluster.brokers.length === 0)
          throw new PipelineError('KAFKA_UNAVAILABLE', 'Kafka reported no brokers');
      } catch (err) {
        await drop();
        throw asProbeError(err);
      }
    },
    close: drop,
  };
}

function asProbeError(err: unknown): PipelineError {
  const mapped = toKafkaError(err, 'probe');
  if (isPipelineError(mapped)) return mapped;
  // kafkajs swallows the socket error of a metadata request on a lost connection and then fails
  // on the missing answer (a TypeError); for a probe that still means "no answer".
  return new PipelineError('KAFKA_UNAVAILABLE', 'Kafka did not answer the probe', {
    cause: err,
    context: { operation: 'probe' },
  });
}
