/**
 * The runner and producer with the real codec of `@ehrflow/contracts` (Avro, Confluent framing,
 * the local schema registry) instead of the JSON test codec the other integration tests use.
 */
import { canonicalText, createCodec, createRegistry, type SchemaRegistry } from '@ehrflow/contracts';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopics, uniqueName, waitFor } from '@ehrflow/testing';
import type { KafkaClient } from './client.ts';
import { createConsumerRunner } from './consumer-runner.ts';
import { cleanUp, testClient } from './testing/kafka.ts';
import { createProducer } from './producer.ts';
import type { Output } from './records.ts';

const REGISTRY_URL = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7';

const schema = (name: string) =>
  canonicalText({
    type: 'record',
    name,
    namespace: 'ehrflow.test.kafka',
    doc: 'A test record.',
    fields: [
      { name: 'id', type: 'string', doc: 'record id', phi: 'none', required: true, fillRate: 1 },
      { name: 'n', type: 'int', doc: 'a number', phi: 'none' },
    ],
  });

let client: KafkaClient;
let admin: Admin;
let registry: SchemaRegistry;
const topics: string[] = [];
const subjects: string[] = [];

beforeAll(async () => {
  client = testClient('avro-int');
  admin = client.kafkajs.admin();
  await admin.connect();
  registry = createRegistry({ url: REGISTRY_URL });
});

afterAll(async () => {
  await cleanUp(admin, topics);
  await admin.disconnect();
  for (const s of subjects) await registry.deleteSubject(s).catch(() => undefined);
  await registry.close();
});

describe('with the @ehrflow/contracts Avro codec', () => {
  it('produces, consumes transactionally and refuses a record that breaks the schema, by index', async () => {
    const input = uniqueName('kt.avro.in');
    const output = uniqueName('kt.avro.out');
    await createTopics(admin, [input, output], 1);
    topics.push(input, output);
    for (const [topic, name] of [
      [input, 'In'],
      [output, 'Out'],
    ] as const) {
      subjects.push(`${topic}-value`);
      await registry.register(`${topic}-value`, schema(name));
    }
    const codec = createCodec(registry);

    const producer = createProducer({ kafka: client, codec });
    await producer.connect();
    const err = await producer
      .send(input, [
        { key: 'k', value: { id: 'a', n: 1 } },
        { key: 'k', value: { id: 'b', n: 'not a number' } },
      ])
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SCHEMA_MISMATCH', context: { topic: input, index: 1 } });
    await producer.send(
      input,
      Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: { id: `r${i}`, n: i } })),
    );
    await producer.disconnect();

    const seen: string[] = [];
    const runner = createConsumerRunner({
      kafka: client,
      groupId: uniqueName('kt.avro.group'),
      topics: [input],
      codec,
      delivery: 'transactional',
      transactionalId: uniqueName('kt.avro.tx'),
      maxBatch: 50,
      handler: (batch) =>
        Promise.resolve(
          batch.map((r): Output => {
            const value = r.value as { id: string; n: number };
            seen.push(value.id);
            return { topic: output, key: r.key ?? 'k', value: { id: value.id, n: value.n * 2 } };
          }),
        ),
    });
    const running = runner.run();
    await waitFor(() => runner.stats().committed >= 20, { timeoutMs: 60_000, what: 'commit 20 records' });
    await runner.stop();
    await running;

    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => `r${i}`));
    const outputSubjectId = (await registry.latest(`${output}-value`)).id;
    const consumer = client.kafkajs.consumer({ groupId: uniqueName('kt.avro.reader'), maxWaitTimeInMs: 200 });
    const decoded: { id: string; n: number }[] = [];
    await consumer.connect();
    await consumer.subscribe({ topics: [output], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (!message.value) return;
        expect(message.value.readUInt32BE(1)).toBe(outputSubjectId);
        decoded.push({ ...((await codec.decode(message.value)).value as { id: string; n: number }) });
      },
    });
    await waitFor(() => decoded.length >= 20, { timeoutMs: 30_000, what: 'read 20 outputs' });
    await consumer.disconnect();
    expect(decoded).toEqual(Array.from({ length: 20 }, (_, i) => ({ id: `r${i}`, n: i * 2 })));
  });
});
