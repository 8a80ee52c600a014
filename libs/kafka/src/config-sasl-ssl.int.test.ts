/**
 * libs/config's `kafkaTls` with the Kafka client itself, against the local stack started with
 * `deploy/local/stack up --tls`: Kafka over SASL_SSL configured only through `kafkaTls`, and proof
 * that a plaintext client, a client without the CA, a client expecting another host name and a
 * wrong password are refused. (Here rather than in libs/config: only libs/kafka imports the client.)
 *
 * Runs when the stack's TLS env file exists (`$EHRFLOW_STACK_HOME/run/tls.env`, written by
 * `stack up --tls` and removed by `stack down`) or when STACK_TLS_TEST=1 (then the variables come
 * from that file or, without it, from the process environment, and a missing one fails the test).
 */
import { randomBytes } from 'node:crypto';
import { kafkaTls, type Env, type KafkaTlsOptions } from '@ehrflow/config';
import { readStackTlsEnv, stackTlsEnvFile } from '@ehrflow/config/testing/stack-tls-env';
// Through the package's re-export, which applies its kafkajs patches (without the request-queue
// one, an idle connection warns of a negative timeout on Node 24).
import { Kafka, logLevel, type KafkaConfig } from './client-exports.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const envFile = stackTlsEnvFile();
const forced = process.env.STACK_TLS_TEST === '1';

const source: Env | undefined = readStackTlsEnv(envFile) ?? (forced ? process.env : undefined);
const title =
  source === undefined
    ? `Kafka over SASL_SSL — skipped: no TLS stack (${envFile} is absent; run deploy/local/stack up --tls, or set STACK_TLS_TEST=1)`
    : 'Kafka over SASL_SSL';

/**
 * The stack's variables in production mode, so a plaintext fallback would show as a warning.
 * Called from hooks only: vitest still collects the body of a skipped suite.
 */
function stackEnv(): Env {
  if (source === undefined) throw new Error('unreachable: the suite is skipped without a TLS env');
  for (const name of ['KAFKA_BROKERS', 'KAFKA_SSL_CA']) {
    if (source[name] === undefined)
      throw new Error(`STACK_TLS_TEST=1 but ${name} is not set (run: stack env --tls)`);
  }
  return { ...source, EHRFLOW_MODE: 'production' };
}

const runId = randomBytes(4).toString('hex');
/** A name the certificate does not carry: the handshake must fail on it. */
const WRONG_HOST = 'not-in-the-certificate.invalid';

describe.skipIf(source === undefined)(title, () => {
  describe('kafka (SASL_SSL)', () => {
    const topic = `ehrflow.tls-test.${runId}`;
    let options: KafkaTlsOptions;
    let brokers: string[];
    beforeAll(() => {
      const env = stackEnv();
      options = kafkaTls(env);
      brokers = (env.KAFKA_BROKERS ?? '').split(',');
    });
    const kafka = (overrides: Partial<KafkaConfig>): Kafka =>
      new Kafka({
        clientId: `tls-test-${runId}`,
        brokers,
        ssl: options.ssl,
        sasl: options.sasl,
        logLevel: logLevel.NOTHING,
        connectionTimeout: 3_000,
        requestTimeout: 5_000,
        retry: { retries: 0 },
        ...overrides,
      });

    afterAll(async () => {
      const admin = kafka({}).admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    });

    it('is configured for TLS and SCRAM without a warning', () => {
      expect(options.ssl?.ca).toContain('BEGIN CERTIFICATE');
      expect(options.sasl?.mechanism).toBe('scram-sha-512');
      expect(options.warning).toBeUndefined();
    });

    it('produces and consumes one record over SASL_SSL', async () => {
      const client = kafka({ retry: { retries: 3 } });
      const admin = client.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      await admin.disconnect();

      const producer = client.producer();
      await producer.connect();
      await producer.send({ topic, messages: [{ key: runId, value: 'tls-probe' }] });
      await producer.disconnect();

      const consumer = client.consumer({ groupId: `tls-test-${runId}` });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const received = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no record within 30 s')), 30_000);
        void consumer.run({
          eachMessage: ({ message }) => {
            clearTimeout(timer);
            resolve(`${message.key?.toString() ?? ''}:${message.value?.toString() ?? ''}`);
            return Promise.resolve();
          },
        });
      });
      await consumer.disconnect();
      expect(received).toBe(`${runId}:tls-probe`);
      await admin.connect();
      await admin.deleteGroups([`tls-test-${runId}`]).catch(() => undefined);
      await admin.disconnect();
    });

    it('refuses plaintext, a client without the CA, another host name and a wrong password', async () => {
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
      // Plaintext bytes on a TLS port: the broker drops the connection (no SASL, no metadata).
      expect(await attempt({ ssl: false, sasl: undefined })).not.toBe('connected');
      expect(await attempt({ ssl: { rejectUnauthorized: true } })).toMatch(
        /self-signed certificate|unable to/,
      );
      expect(await attempt({ ssl: { ...options.ssl, servername: WRONG_HOST } })).toMatch(
        /altnames|does not match/i,
      );
      // A new object, not a spread of options.sasl: kafkajs stores on the sasl object it is given an
      // authenticator bound to that password, and a spread would copy it along.
      const username = options.sasl?.username ?? '';
      expect(await attempt({ sasl: { mechanism: 'scram-sha-512', username, password: 'wrong' } })).toMatch(
        /authentication failed/i,
      );
    });
  });
});
