/**
 * The validator with worker threads on the real stack: outputs in input order per partition with
 * transactional delivery, and a worker that dies fails its chunk without committing anything.
 */
import type { RawEnvelope, SchemaRegistry, Codec } from '@ehrflow/contracts';
import {
  createKafka,
  createProducer,
  type Admin,
  type KafkaClient,
  type RecordProducer,
} from '@ehrflow/kafka';
import { createLogger } from '@ehrflow/logging';
import { createKeyring, type Keyring } from '@ehrflow/phi';
import { waitForValue } from '@ehrflow/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadValidatorConfig } from './config.ts';
import { startValidator, type RunningValidator } from './service.ts';
import { contractJson, patient, rawEnvelope } from './testing/fixtures.ts';
import {
  BROKERS,
  readValues,
  registerTestSubjects,
  testEnv,
  testRegistry,
  testTopics,
} from './testing/stack.ts';

const topics = testTopics(['Patient']);
const keySpec = `k1:${Buffer.alloc(32, 9).toString('base64')}`;
const ring: Keyring = createKeyring([['k1', Buffer.alloc(32, 9)]]);
const logger = createLogger({ name: 'validator-workers-int', level: 'warn' });
const env = testEnv(topics, {
  PHI_KEYRING: keySpec,
  VALIDATOR_RESOURCE_TYPES: 'Patient',
  VALIDATOR_MAX_BATCH: '100',
  VALIDATOR_DELIVERY: 'transactional',
  VALIDATOR_TRANSACTIONAL_ID: `${topics.id}-tx`,
  VALIDATOR_WORKERS: '2',
});

let kafka: KafkaClient;
let admin: Admin;
let registry: SchemaRegistry;
let codec: Codec;
let producer: RecordProducer;
let validator: RunningValidator | undefined;

async function produceRaw(envelopes: readonly RawEnvelope[]): Promise<void> {
  // One key: one partition, so the input order is the order the validator must keep.
  await producer.send(
    topics.raw,
    envelopes.map((e) => ({ key: 'one-patient', value: e })),
  );
}

async function committed(): Promise<string | undefined> {
  const [entry] = await admin.fetchOffsets({
    groupId: env.VALIDATOR_GROUP_ID as string,
    topics: [topics.raw],
  });
  const offset = entry?.partitions.find((p) => p.partition === 0)?.offset;
  return offset === undefined || offset === '-1' ? undefined : offset;
}

beforeAll(async () => {
  kafka = createKafka({ brokers: BROKERS, clientId: `${topics.id}-test`, logger, mode: 'development' });
  admin = kafka.kafkajs.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: topics.all.map((topic) => ({ topic, numPartitions: 1, replicationFactor: 1 })),
  });
  ({ registry, codec } = testRegistry());
  await registerTestSubjects(registry, topics, { Patient: contractJson('Patient') });
  producer = createProducer({ kafka, codec, logger });
  await producer.connect();
});

afterAll(async () => {
  await validator?.stop().catch(() => undefined);
  await producer?.disconnect();
  await admin?.deleteTopics({ topics: [...topics.all] }).catch(() => undefined);
  await admin?.deleteGroups([env.VALIDATOR_GROUP_ID as string]).catch(() => undefined);
  await admin?.disconnect();
  for (const subject of topics.subjects) await registry.deleteSubject(subject).catch(() => undefined);
  await registry?.close();
});

describe('validator with worker threads', () => {
  it('produces valid records in input order and commits past all of them (transactional)', async () => {
    const batch = Array.from({ length: 450 }, (_, n) =>
      rawEnvelope(ring, patient(5000 + n), { sourceId: 'site-w' }),
    );
    await produceRaw(batch);
    validator = await startValidator({ config: loadValidatorConfig(env), logger, env });
    validator.done.catch(() => undefined);
    const ids = batch.map((e) => e.recordId);
    const records = await waitForValue(
      async () => {
        const found = await readValues<Record<string, unknown>>(kafka, codec, `${topics.validPrefix}Patient`);
        return found.length >= ids.length ? found : undefined;
      },
      { what: `${ids.length} valid records`, timeoutMs: 90_000, intervalMs: 500 },
    );
    // Exactly once and in input order: 450 records in chunks of 100 across two workers.
    expect(records.map((r) => r.recordId)).toEqual(ids);
    await waitForValue(async () => ((await committed()) === String(batch.length) ? true : undefined), {
      what: 'the offset past the last record',
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    await validator.stop();
    validator = undefined;
  });

  it('commits nothing of a chunk whose worker dies, and retries it', async () => {
    const before = await committed();
    const batch = Array.from({ length: 20 }, (_, n) =>
      rawEnvelope(ring, patient(7000 + n), { sourceId: 'site-w' }),
    );
    await produceRaw(batch);
    // Workers that start, then exit in the middle of every chunk.
    validator = await startValidator({
      config: loadValidatorConfig(env),
      logger,
      env,
      workerModule: new URL('./testing/crashing-worker.ts', import.meta.url),
    });
    validator.done.catch(() => undefined);
    const running = validator;
    await waitForValue(() => Promise.resolve(running.runner.stats().retries >= 2 ? true : undefined), {
      what: 'two retries of the failed chunk',
      timeoutMs: 60_000,
      intervalMs: 250,
    });
    expect(await committed()).toBe(before);
    const records = await readValues<Record<string, unknown>>(kafka, codec, `${topics.validPrefix}Patient`);
    expect(records.filter((r) => batch.some((e) => e.recordId === r.recordId))).toEqual([]);
    await validator.stop().catch(() => undefined);
    validator = undefined;
  });
});
