/**
 * A chunk whose outputs fan out past the broker's batch limit, on the local broker: 40 inputs,
 * each producing 40 KB to a one-partition topic (1.6 MB for one partition, above the default
 * `message.max.bytes` of 1 MiB). Before produce calls were cut (send-limit.ts) the broker refused
 * the batch as a permanent error; now every output arrives, in both delivery modes.
 */
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopics, uniqueName } from '@ehrflow/testing';
import type { KafkaClient } from './client.ts';
import { createConsumerRunner } from './consumer-runner.ts';
import type { DeliveryMode } from './delivery.ts';
import {
  cleanUp,
  jsonTestCodec,
  produceNumbered,
  readAll,
  runUntilCommitted,
  testClient,
} from './testing/kafka.ts';

const INPUTS = 40;
let client: KafkaClient;
let admin: Admin;
const created: string[] = [];

beforeAll(async () => {
  client = testClient('send-limit');
  admin = client.kafkajs.admin();
  await admin.connect();
});

afterAll(async () => {
  await cleanUp(admin, created);
  await admin.disconnect();
});

describe.each<DeliveryMode>(['at-least-once', 'transactional'])(
  'outputs above the batch limit, %s',
  (mode) => {
    it('are all produced and the chunk committed', async () => {
      const input = uniqueName('kt.limit.in');
      const output = uniqueName('kt.limit.out');
      await createTopics(admin, [input], 1);
      await createTopics(admin, [output], 1);
      created.push(input, output);
      await produceNumbered(client, input, 0, INPUTS);
      const runner = createConsumerRunner({
        kafka: client,
        groupId: uniqueName('kt.limit.group'),
        topics: [input],
        codec: jsonTestCodec(),
        delivery: mode,
        transactionalId: uniqueName('kt.limit.tx'),
        maxBatch: 500,
        handler: (batch) =>
          Promise.resolve(
            batch.map((r) => ({
              topic: output,
              key: 'one',
              value: { id: (r.value as { id: string }).id, pad: 'x'.repeat(40_000) },
            })),
          ),
      });
      // A refused batch is permanent: the runner stops, and the test fails at once.
      await runUntilCommitted(runner, INPUTS);
      const out = await readAll(client, output, { readCommitted: true });
      expect(new Set(out.map((v) => (v as { id: string }).id)).size).toBe(INPUTS);
    });
  },
);
