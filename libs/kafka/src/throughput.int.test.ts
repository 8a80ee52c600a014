/**
 * Benchmark, not a timing assertion: prints records per second of the consumer runner in both
 * delivery modes on the local broker (copy of ~20k small records, 3 partitions). It asserts only
 * that every record went through.
 */
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopics, uniqueName, waitFor } from '@ehrflow/testing';
import type { KafkaClient } from './client.ts';
import { createConsumerRunner } from './consumer-runner.ts';
import type { DeliveryMode } from './delivery.ts';
import { cleanUp, jsonTestCodec, produceNumbered, testClient } from './testing/kafka.ts';

const TOTAL = Number(process.env.KAFKA_BENCH_RECORDS ?? '20000');
const MAX_BATCH = Number(process.env.KAFKA_BENCH_MAX_BATCH ?? '500');

let client: KafkaClient;
let admin: Admin;
const created: string[] = [];

beforeAll(async () => {
  client = testClient('runner-bench');
  admin = client.kafkajs.admin();
  await admin.connect();
});

afterAll(async () => {
  await cleanUp(admin, created);
  await admin.disconnect();
});

describe.each<DeliveryMode>(['at-least-once', 'transactional'])('consumer runner throughput, %s', (mode) => {
  it(`copies ${TOTAL} records`, async () => {
    const input = uniqueName('kt.bench.in');
    const output = uniqueName('kt.bench.out');
    await createTopics(admin, [input, output], 3);
    created.push(input, output);
    await produceNumbered(client, input, 0, TOTAL);

    let firstChunkAt = 0;
    const runner = createConsumerRunner({
      kafka: client,
      groupId: uniqueName('kt.bench.group'),
      topics: [input],
      codec: jsonTestCodec(),
      delivery: mode,
      transactionalId: uniqueName('kt.bench.tx'),
      maxBatch: MAX_BATCH,
      handler: (batch) => {
        firstChunkAt ||= Date.now();
        return Promise.resolve(
          batch.map((r) => ({
            topic: output,
            key: r.key ?? 'none',
            value: { id: (r.value as { id: string }).id },
          })),
        );
      },
    });
    const running = runner.run();
    await waitFor(() => runner.stats().committed >= TOTAL, {
      timeoutMs: 300_000,
      intervalMs: 20,
      what: `commit ${TOTAL}`,
    });
    const elapsedMs = Date.now() - firstChunkAt;
    const stats = runner.stats();
    await runner.stop();
    await running;

    expect(stats.committed).toBe(TOTAL);
    expect(stats.produced).toBe(TOTAL);
    console.log(
      `[bench ${mode}] ${TOTAL} records in ${elapsedMs} ms = ${Math.round((TOTAL * 1000) / elapsedMs)} records/s ` +
        `(maxBatch ${MAX_BATCH}, ${stats.batches} chunks, ${(elapsedMs / stats.batches).toFixed(1)} ms/chunk)`,
    );
  });
});
