/**
 * An output larger than its topic takes, on the local broker: the output topic keeps the broker's
 * default `message.max.bytes` (1 MiB), as `ehr.valid.*` and `ehr.clean.*` do. Sent as it is, the
 * broker refuses it on every attempt (a stage would stop, and again on the same input after every
 * restart); the runner reads each output topic's limit and quarantines what is above it, and keeps
 * each produce call under it, so a topic that takes less than the default is served too. A topic
 * whose limit an operator lowers while the stage runs is read again at the broker's first refusal.
 */
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopics, uniqueName, waitFor } from '@ehrflow/testing';
import type { KafkaClient } from './client.ts';
import { DEFAULT_MAX_OUTPUT_BYTES } from './chunk-processor.ts';
import { ConfigResourceTypes } from './client-exports.ts';
import { createProducer } from './producer.ts';
import { RECORD_MARGIN_BYTES, readTopicLimits } from './topic-limits.ts';
import { createConsumerRunner, type ConsumerRunner, type ConsumerRunnerOptions } from './consumer-runner.ts';
import type { InputRecord, Output } from './records.ts';
import {
  cleanUp,
  jsonTestCodec,
  memoryLogger,
  produceNumbered,
  readAll,
  runUntilCommitted,
  testClient,
} from './testing/kafka.ts';

const INPUTS = 12;
/** Inputs 3 and 8 give a large output; the others, a small one. */
const LARGE = new Set(['r3', 'r8']);
const ids = Array.from({ length: INPUTS }, (_, i) => `r${i}`);
let client: KafkaClient;
let admin: Admin;
const created: string[] = [];

beforeAll(async () => {
  client = testClient('output-limit');
  admin = client.kafkajs.admin();
  await admin.connect();
});

afterAll(async () => {
  await cleanUp(admin, created);
  await admin.disconnect();
});

/** Input, output and quarantine topics; the output topic's `max.message.bytes` when given. */
async function topics(outputLimit?: number): Promise<{ input: string; output: string; quarantine: string }> {
  const names = {
    input: uniqueName('kt.olim.in'),
    output: uniqueName('kt.olim.out'),
    quarantine: uniqueName('kt.olim.q'),
  };
  await createTopics(admin, [names.input, names.quarantine], 1);
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      {
        topic: names.output,
        numPartitions: 1,
        replicationFactor: 1,
        ...(outputLimit === undefined
          ? {}
          : { configEntries: [{ name: 'max.message.bytes', value: String(outputLimit) }] }),
      },
    ],
  });
  created.push(...Object.values(names));
  await produceNumbered(client, names.input, 0, INPUTS);
  return names;
}

/** Outputs of `large` bytes of padding for inputs r3 and r8, of `small` for the others. */
const handler =
  (output: string, large: number, small: number) =>
  (batch: readonly InputRecord[]): Promise<Output[]> =>
    Promise.resolve(
      batch.map((r) => {
        const id = (r.value as { id: string }).id;
        return { topic: output, key: id, value: { id, pad: 'x'.repeat(LARGE.has(id) ? large : small) } };
      }),
    );

/** A stage over `input` whose outputs go to `output`; quarantined outputs go to `quarantine`. */
function runnerFor(
  names: { input: string; output: string; quarantine: string },
  sizes: { large: number; small: number },
  extra: Partial<Pick<ConsumerRunnerOptions, 'maxOutputBytes'>> = {},
): ConsumerRunner {
  return createConsumerRunner({
    kafka: client,
    groupId: uniqueName('kt.olim.group'),
    topics: [names.input],
    codec: jsonTestCodec(),
    delivery: 'at-least-once',
    maxBatch: 500,
    handler: handler(names.output, sizes.large, sizes.small),
    onQuarantine: (out, error) => ({
      topic: names.quarantine,
      key: out.key,
      value: { id: (out.value as { id: string }).id, code: error.code, maxBytes: error.context.maxBytes },
    }),
    ...extra,
  });
}

/** Runs the stage over every input and reads back what it produced and quarantined. */
async function runStage(runner: ConsumerRunner, names: { output: string; quarantine: string }) {
  await runUntilCommitted(runner, INPUTS);
  const produced = (await readAll(client, names.output, { readCommitted: true })) as { id: string }[];
  const refused = await readAll(client, names.quarantine, { readCommitted: true });
  return { produced: produced.map((v) => v.id).sort(), refused };
}

describe('an output above the output topic limit', () => {
  it('is refused by the broker when sent as it is', async () => {
    const { output } = await topics();
    const producer = createProducer({ kafka: client, codec: jsonTestCodec(), logger: memoryLogger() });
    await producer.connect();
    try {
      await expect(
        producer.send(output, [{ key: 'r3', value: { id: 'r3', pad: 'x'.repeat(1_200_000) } }]),
      ).rejects.toMatchObject({ code: 'KAFKA_REJECTED' });
    } finally {
      await producer.disconnect();
    }
  });

  it("is quarantined as TOO_LARGE at the topic's limit (the broker's default), and every other output is produced and committed", async () => {
    const names = await topics();
    // The broker's default (Kafka's message.max.bytes, 1 MiB and 12 bytes), read like the runner does.
    const brokerDefault = (await readTopicLimits(admin, [names.output])).get(names.output) ?? 0;
    expect(brokerDefault - RECORD_MARGIN_BYTES).toBeGreaterThanOrEqual(DEFAULT_MAX_OUTPUT_BYTES);
    const runner = runnerFor(names, { large: 1_200_000, small: 1_000 });
    const { produced, refused } = await runStage(runner, names);
    expect(produced).toEqual(ids.filter((id) => !LARGE.has(id)).sort());
    expect(refused).toEqual(
      expect.arrayContaining(
        [...LARGE].map((id) => ({ id, code: 'TOO_LARGE', maxBytes: brokerDefault - RECORD_MARGIN_BYTES })),
      ),
    );
    expect(refused).toHaveLength(LARGE.size);
    expect(runner.stats()).toMatchObject({ quarantined: LARGE.size });
  });

  it('follows a topic that takes less than the default: its own limit, read from the broker, and produce calls under it', async () => {
    // 256 KiB: a 300 KB output is above it; ten 100 KB outputs in one chunk are one batch of 1 MB
    // on the single partition unless the calls are cut under the limit. A ceiling above the
    // topic's limit does not lift it.
    const topicLimit = 256 * 1024;
    const names = await topics(topicLimit);
    const runner = runnerFor(names, { large: 300_000, small: 100_000 }, { maxOutputBytes: 64 * 1024 * 1024 });
    const { produced, refused } = await runStage(runner, names);
    expect(produced).toEqual(ids.filter((id) => !LARGE.has(id)).sort());
    expect(refused).toEqual(
      expect.arrayContaining(
        [...LARGE].map((id) => ({ id, code: 'TOO_LARGE', maxBytes: topicLimit - RECORD_MARGIN_BYTES })),
      ),
    );
    expect(refused).toHaveLength(LARGE.size);
  });

  it('follows a topic that takes more than the default, up to a ceiling', async () => {
    const names = await topics(4 * 1024 * 1024);
    const runner = runnerFor(names, { large: 1_200_000, small: 1_000 });
    const { produced, refused } = await runStage(runner, names);
    expect(produced).toEqual([...ids].sort());
    expect(refused).toHaveLength(0);

    const capped = await topics(4 * 1024 * 1024);
    const ceiling = 512 * 1024;
    const { produced: under, refused: above } = await runStage(
      runnerFor(capped, { large: 1_200_000, small: 1_000 }, { maxOutputBytes: ceiling }),
      capped,
    );
    expect(under).toEqual(ids.filter((id) => !LARGE.has(id)).sort());
    expect(above).toEqual(
      expect.arrayContaining([...LARGE].map((id) => ({ id, code: 'TOO_LARGE', maxBytes: ceiling }))),
    );
  });
});

describe('an output topic whose limit is lowered while the stage runs', () => {
  /** Outputs of 300 KB for every input whose number ends a dozen at 3 or 8, of 1 KB otherwise. */
  const dozens = (output: string) => (batch: readonly InputRecord[]) =>
    Promise.resolve(
      batch.map((r): Output => {
        const { id, n } = r.value as { id: string; n: number };
        return {
          topic: output,
          key: id,
          value: { id, pad: 'x'.repeat([3, 8].includes(n % 12) ? 300_000 : 1_000) },
        };
      }),
    );

  it.each(['at-least-once', 'transactional'] as const)(
    '%s: the broker refuses the next large output, the stage reads the topic again and quarantines it, and goes on',
    async (delivery) => {
      const names = await topics(4 * 1024 * 1024);
      const runner = createConsumerRunner({
        kafka: client,
        groupId: uniqueName('kt.olim.group'),
        topics: [names.input],
        codec: jsonTestCodec(),
        delivery,
        ...(delivery === 'transactional' ? { transactionalId: uniqueName('kt.olim.tx') } : {}),
        maxBatch: 500,
        handler: dozens(names.output),
        retry: { initialMs: 10, maxMs: 50, maxAttempts: 5 },
        onQuarantine: (out, error) => ({
          topic: names.quarantine,
          key: out.key,
          value: { id: (out.value as { id: string }).id, code: error.code, maxBytes: error.context.maxBytes },
        }),
      });
      const running = runner.run();
      const stopped = running.then(() => {
        throw new Error('the runner stopped by itself');
      });
      stopped.catch(() => undefined);
      const committed = (count: number) =>
        Promise.race([
          waitFor(() => runner.stats().committed >= count, {
            timeoutMs: 60_000,
            intervalMs: 50,
            what: `commit ${count}`,
          }),
          stopped,
        ]);
      try {
        await committed(INPUTS);
        const lowered = 256 * 1024;
        await admin.alterConfigs({
          validateOnly: false,
          resources: [
            {
              type: ConfigResourceTypes.TOPIC,
              name: names.output,
              configEntries: [{ name: 'max.message.bytes', value: String(lowered) }],
            },
          ],
        });
        // Until the broker applies it, a 300 KB record still goes through: wait for its refusal.
        const probe = createProducer({ kafka: client, codec: jsonTestCodec(), logger: memoryLogger() });
        await probe.connect();
        try {
          await waitFor(
            () =>
              probe
                .send(names.output, [{ key: 'probe', value: { id: 'probe', pad: 'x'.repeat(300_000) } }])
                .then(
                  () => false,
                  (err: unknown) => (err as { code?: string }).code === 'KAFKA_REJECTED',
                ),
            { timeoutMs: 30_000, intervalMs: 200, what: 'the lowered limit applied' },
          );
        } finally {
          await probe.disconnect();
        }
        await produceNumbered(client, names.input, INPUTS, 2 * INPUTS);
        await committed(2 * INPUTS);
      } finally {
        await runner.stop();
        await running.catch(() => undefined);
      }
      const produced = (await readAll(client, names.output, { readCommitted: true })) as { id: string }[];
      const refused = (await readAll(client, names.quarantine, { readCommitted: true })) as { id: string }[];
      const outIds = new Set(produced.map((v) => v.id).filter((id) => id !== 'probe'));
      // Before: every output fit 4 MiB. After: r15 and r20 (300 KB) are above the new limit.
      for (let n = 0; n < 2 * INPUTS; n++) {
        const large = n >= INPUTS && [3, 8].includes(n % 12);
        expect(outIds.has(`r${n}`)).toBe(!large);
      }
      expect(refused).toEqual([
        { id: 'r15', code: 'TOO_LARGE', maxBytes: 256 * 1024 - RECORD_MARGIN_BYTES },
        { id: 'r20', code: 'TOO_LARGE', maxBytes: 256 * 1024 - RECORD_MARGIN_BYTES },
      ]);
      expect(runner.stats().retries).toBeGreaterThanOrEqual(1);
    },
  );
});
