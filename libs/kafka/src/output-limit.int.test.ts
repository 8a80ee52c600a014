/**
 * An output larger than its topic takes, on the local broker: the output topic keeps the broker's
 * default `message.max.bytes` (1 MiB), as `ehr.valid.*` and `ehr.clean.*` do. Sent as it is, the
 * broker refuses it on every attempt and the stage stops (and would stop again on the same input
 * after every restart); with the runner's `maxOutputBytes` it is quarantined and the rest goes on.
 */
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopics, uniqueName } from '@ehrflow/testing';
import type { KafkaClient } from './client.ts';
import { DEFAULT_MAX_OUTPUT_BYTES } from './chunk-processor.ts';
import { createConsumerRunner, type ConsumerRunner, type ConsumerRunnerOptions } from './consumer-runner.ts';
import type { InputRecord, Output } from './records.ts';
import {
  cleanUp,
  jsonTestCodec,
  produceNumbered,
  readAll,
  runUntilCommitted,
  testClient,
} from './testing/kafka.ts';

const INPUTS = 12;
/** Inputs 3 and 8 give an output of 1.2 MB; the others, 1 KB. */
const LARGE = new Set(['r3', 'r8']);
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

async function topics(): Promise<{ input: string; output: string; quarantine: string }> {
  const names = {
    input: uniqueName('kt.olim.in'),
    output: uniqueName('kt.olim.out'),
    quarantine: uniqueName('kt.olim.q'),
  };
  await createTopics(admin, Object.values(names), 1);
  created.push(...Object.values(names));
  await produceNumbered(client, names.input, 0, INPUTS);
  return names;
}

const handler =
  (output: string) =>
  (batch: readonly InputRecord[]): Promise<Output[]> =>
    Promise.resolve(
      batch.map((r) => {
        const id = (r.value as { id: string }).id;
        return { topic: output, key: id, value: { id, pad: 'x'.repeat(LARGE.has(id) ? 1_200_000 : 1_000) } };
      }),
    );

/** A stage over `input` whose outputs go to `output` (inputs r3 and r8 give 1.2 MB outputs). */
function runnerFor(
  input: string,
  output: string,
  extra: Partial<Pick<ConsumerRunnerOptions, 'maxOutputBytes' | 'retry' | 'onQuarantine'>>,
): ConsumerRunner {
  return createConsumerRunner({
    kafka: client,
    groupId: uniqueName('kt.olim.group'),
    topics: [input],
    codec: jsonTestCodec(),
    delivery: 'at-least-once',
    maxBatch: 500,
    handler: handler(output),
    ...extra,
  });
}

describe('an output above the output topic limit', () => {
  it('is refused by the broker when sent, and the runner stops', async () => {
    const { input, output } = await topics();
    const runner = runnerFor(input, output, {
      maxOutputBytes: 64 * 1024 * 1024,
      retry: { initialMs: 10, maxMs: 50, maxAttempts: 2 },
    });
    // Bounded: a broker that took the record would leave the runner running, and the race fails.
    const outcome = await Promise.race([
      runner.run().then(
        () => 'ran',
        (err: unknown) => err,
      ),
      new Promise((resolve) => setTimeout(() => resolve('still running'), 60_000).unref()),
    ]);
    if (outcome === 'still running') await runner.stop();
    expect(outcome).toMatchObject({ code: 'KAFKA_REJECTED' });
    expect(runner.stats().committed).toBe(0);
  });

  it('is quarantined as TOO_LARGE by default, and every other output is produced and committed', async () => {
    const { input, output, quarantine } = await topics();
    const runner = runnerFor(input, output, {
      onQuarantine: (out, error) => ({
        topic: quarantine,
        key: out.key,
        value: { id: (out.value as { id: string }).id, code: error.code, maxBytes: error.context.maxBytes },
      }),
    });
    await runUntilCommitted(runner, INPUTS);
    const produced = (await readAll(client, output, { readCommitted: true })) as { id: string }[];
    expect(produced.map((v) => v.id).sort()).toEqual(
      Array.from({ length: INPUTS }, (_, i) => `r${i}`)
        .filter((id) => !LARGE.has(id))
        .sort(),
    );
    const refused = await readAll(client, quarantine, { readCommitted: true });
    expect(refused).toEqual(
      expect.arrayContaining(
        [...LARGE].map((id) => ({ id, code: 'TOO_LARGE', maxBytes: DEFAULT_MAX_OUTPUT_BYTES })),
      ),
    );
    expect(refused).toHaveLength(LARGE.size);
    expect(runner.stats()).toMatchObject({ quarantined: LARGE.size });
  });
});
