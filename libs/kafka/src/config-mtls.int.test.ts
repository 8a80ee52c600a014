/**
 * libs/config's `kafkaTls` with the Kafka client itself (here, because only libs/kafka imports the
 * client). Kafka client authentication by certificate (mTLS) against the local stack's MTLS listener
 * (`deploy/local/stack up --tls`, KAFKA_MTLS_PORT): the client configured through `kafkaTls` with
 * the stack's client certificate is accepted; a client without a certificate, and one whose
 * certificate another CA signed, are refused in the handshake.
 *
 * Runs when the stack's TLS env file lists the listener (KAFKA_MTLS_BROKERS: written only while it
 * listens). A broker started by an older stack script has no such listener; the title says so.
 */
import { randomBytes } from 'node:crypto';
// Through the package's re-export, which applies its kafkajs patches (without the request-queue
// one, an idle connection warns of a negative timeout on Node 24).
import { Kafka, logLevel, type KafkaConfig } from './client-exports.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaTls, type Env, type KafkaTlsOptions } from '@ehrflow/config';
import { createTestCa, issueTestCertificate } from '@ehrflow/config/testing';
import { readStackTlsEnv, stackTlsEnvFile } from '@ehrflow/config/testing/stack-tls-env';

const source = readStackTlsEnv();
const enabled = source?.KAFKA_MTLS_BROKERS !== undefined;
const title = enabled
  ? 'Kafka mTLS client certificates'
  : `Kafka mTLS client certificates — skipped: ${stackTlsEnvFile()} lists no KAFKA_MTLS_BROKERS (run deploy/local/stack up --tls with a broker it starts)`;

const runId = randomBytes(4).toString('hex');

/** The mTLS client's variables, the way a service gets them: certificate and key, no SASL. */
function mtlsEnv(): Env {
  if (source === undefined) throw new Error('unreachable: the suite is skipped without a TLS env');
  return {
    EHRFLOW_MODE: 'production',
    KAFKA_BROKERS: source.KAFKA_MTLS_BROKERS,
    KAFKA_SSL: 'true',
    KAFKA_SSL_CA: source.KAFKA_SSL_CA,
    KAFKA_SSL_CERT: source.KAFKA_MTLS_SSL_CERT,
    KAFKA_SSL_KEY: source.KAFKA_MTLS_SSL_KEY,
  };
}

describe.skipIf(!enabled)(title, () => {
  const topic = `ehrflow.mtls-test.${runId}`;
  let options: KafkaTlsOptions;
  let brokers: string[];
  beforeAll(() => {
    const env = mtlsEnv();
    options = kafkaTls(env);
    brokers = (env.KAFKA_BROKERS ?? '').split(',');
  });
  const kafka = (overrides: Partial<KafkaConfig>): Kafka =>
    new Kafka({
      clientId: `mtls-test-${runId}`,
      brokers,
      ssl: options.ssl,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 3_000,
      requestTimeout: 5_000,
      retry: { retries: 0 },
      ...overrides,
    });

  /** 'connected' when the admin client got a topic list, else the error's message. */
  const attempt = async (overrides: Partial<KafkaConfig>): Promise<string> => {
    const admin = kafka(overrides).admin();
    try {
      await admin.connect();
      await admin.listTopics();
    } catch (err) {
      return (err as Error).message;
    } finally {
      await admin.disconnect();
    }
    return 'connected';
  };

  afterAll(async () => {
    if (options === undefined) return;
    const admin = kafka({}).admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('is configured from kafkaTls with a client certificate and no SASL', () => {
    expect(options.ssl?.cert).toContain('BEGIN CERTIFICATE');
    expect(options.ssl?.key).toContain('PRIVATE KEY');
    expect(options.sasl).toBeUndefined();
    expect(options.warning).toBeUndefined();
  });

  it('accepts the stack CA’s client certificate: creates a topic and produces to it', async () => {
    const client = kafka({ retry: { retries: 3 } });
    const admin = client.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
    const producer = client.producer();
    await producer.connect();
    try {
      const [meta] = await producer.send({ topic, messages: [{ key: runId, value: 'mtls-probe' }] });
      expect(meta?.errorCode).toBe(0);
    } finally {
      await producer.disconnect();
    }
  });

  it('refuses a client without a certificate', async () => {
    const message = await attempt({ ssl: { ca: options.ssl?.ca, rejectUnauthorized: true } });
    expect(message).not.toBe('connected');
    // The broker's TLS alert (TLS 1.2: bad certificate; TLS 1.3: certificate required).
    expect(message).toMatch(/alert (bad certificate|certificate required)/i);
  });

  it('refuses a client certificate that another CA signed', async () => {
    const otherCa = createTestCa('ehrflow mtls-test other CA');
    const stranger = issueTestCertificate(otherCa, 'client', 'ehrflow-client');
    const message = await attempt({ ssl: { ...options.ssl, cert: stranger.certPem, key: stranger.keyPem } });
    expect(message).not.toBe('connected');
    // The broker's TLS alert: the chain does not end at its truststore's CA.
    expect(message).toMatch(/alert (certificate unknown|unknown ca|bad certificate)/i);
  });
});
