import { PipelineError } from '@ehrflow/errors';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopics, uniqueName, waitFor } from '@ehrflow/testing';
import { consumerLag, totalLag } from './admin.ts';
import { createKafka, type KafkaClient } from './client.ts';
import { createConsumerRunner, type ConsumerRunner, type ConsumerRunnerOptions } from './consumer-runner.ts';
import type { DeliveryMode } from './delivery.ts';
import {
  cleanUp,
  jsonTestCodec,
  memoryLogger,
  produceNumbered,
  produceRaw,
  readAll,
  testClient,
} from './testing/kafka.ts';
import { createProducer } from './producer.ts';
import type { InputRecord, Output } from './records.ts';

let client: KafkaClient;
let admin: Admin;
const created: string[] = [];

beforeAll(async () => {
  client = testClient('runner-int');
  admin = client.kafkajs.admin();
  await admin.connect();
});

afterAll(async () => {
  await cleanUp(admin, created);
  await admin.disconnect();
});

async function topics(partitions: number, ...prefixes: string[]): Promise<string[]> {
  const names = prefixes.map((p) => uniqueName(`kt.${p}`));
  await createTopics(admin, names, partitions);
  created.push(...names);
  return names;
}

const idOf = (r: InputRecord) => (r.value as { id: string }).id;
const copyTo =
  (topic: string) =>
  async (batch: readonly InputRecord[]): Promise<Output[]> =>
    Promise.resolve(batch.map((r) => ({ topic, key: r.key ?? 'none', value: { id: idOf(r) } })));

function runnerFor(
  mode: DeliveryMode,
  overrides: Partial<ConsumerRunnerOptions> & Pick<ConsumerRunnerOptions, 'topics' | 'handler'>,
): ConsumerRunner {
  return createConsumerRunner({
    kafka: client,
    groupId: uniqueName('kt.group'),
    codec: jsonTestCodec(),
    delivery: mode,
    ...(mode === 'transactional' ? { transactionalId: uniqueName('kt.tx') } : {}),
    maxBatch: 100,
    sessionTimeoutMs: 6_000,
    heartbeatIntervalMs: 1_000,
    retry: { initialMs: 50, maxMs: 200, maxAttempts: 5 },
    ...overrides,
  });
}

/** Committed offset of a group on partition 0 of `topic` (null when none). */
async function committedAt(groupId: string, topic: string): Promise<string | null> {
  const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
  const offset = entry?.partitions.find((p) => p.partition === 0)?.offset;
  return offset === undefined || offset === '-1' ? null : offset;
}

/** Records a read_committed reader can see, per the last stable offset. */
async function committedEnd(topic: string): Promise<number> {
  const ends = await admin.fetchTopicOffsets(topic);
  return ends.reduce((sum, e) => sum + Number(e.high), 0);
}

describe.each<DeliveryMode>(['at-least-once', 'transactional'])('consumer runner, %s', (mode) => {
  it('copies every record, commits every offset, and leaves no lag', async () => {
    const [input, output] = (await topics(3, 'in', 'out')) as [string, string];
    await produceNumbered(client, input, 0, 600);
    const groupId = uniqueName('kt.group');
    const runner = runnerFor(mode, { groupId, topics: [input], handler: copyTo(output) });
    const running = runner.run();
    await waitFor(() => runner.stats().committed >= 600, { timeoutMs: 60_000, what: 'commit 600 records' });
    await waitFor(async () => totalLag(await consumerLag(admin, groupId, [input])) === 0, {
      timeoutMs: 20_000,
      what: 'reach zero lag',
    });
    await runner.stop();
    await running;

    const values = (await readAll(client, output, { readCommitted: true })) as { id: string }[];
    const ids = values.map((v) => v.id);
    expect(new Set(ids).size).toBe(600);
    expect(ids.length).toBe(600);
    expect(runner.stats()).toMatchObject({ committed: 600, produced: 600, decodeErrors: 0, retries: 0 });
    expect(runner.stats().lag).toBe(0);
  });

  it('commits offsets only once the chunk outputs are durable', async () => {
    const [input, output] = (await topics(1, 'in', 'out')) as [string, string];
    await produceNumbered(client, input, 0, 50);
    const groupId = uniqueName('kt.group');
    const seen: { committedBefore: string | null; visibleToReadCommitted: number }[] = [];
    const runner = runnerFor(mode, {
      groupId,
      topics: [input],
      maxBatch: 50,
      handler: copyTo(output),
      beforeCommit: async () => {
        seen.push({
          committedBefore: await committedAt(groupId, input),
          visibleToReadCommitted: await committedEnd(output),
        });
      },
    });
    const running = runner.run();
    await waitFor(() => runner.stats().committed >= 50, { timeoutMs: 60_000, what: 'commit 50 records' });
    await runner.stop();
    await running;

    expect(seen).toHaveLength(1);
    // At the moment between produce and commit, the offset has not moved yet...
    expect(seen[0]?.committedBefore).toBeNull();
    // ...and the outputs are acknowledged (at-least-once) or still invisible inside the open
    // transaction (transactional: read_committed readers see them only with the offsets).
    expect(seen[0]?.visibleToReadCommitted).toBe(mode === 'at-least-once' ? 50 : 0);
    expect(await committedAt(groupId, input)).toBe('50');
    expect(await committedEnd(output)).toBeGreaterThanOrEqual(50);
  });

  it('routes undecodable records to the handler and quarantines outputs the codec refuses', async () => {
    const [input, output, quarantine] = (await topics(1, 'in', 'out', 'quarantine')) as [
      string,
      string,
      string,
    ];
    await produceRaw(client, input, [
      Buffer.from('{"id":"a"}'),
      Buffer.from('not json'),
      null,
      Buffer.from('{"id":"b"}'),
    ]);
    const received: InputRecord[] = [];
    const runner = runnerFor(mode, {
      topics: [input],
      handler: async (batch) => {
        received.push(...batch);
        return Promise.resolve(
          batch.map((r): Output =>
            r.decodeError
              ? {
                  topic: quarantine,
                  key: r.key ?? 'none',
                  value: { offset: r.offset, code: r.decodeError.code },
                }
              : { topic: output, key: r.key ?? 'none', value: { id: idOf(r), invalid: idOf(r) === 'b' } },
          ),
        );
      },
      onQuarantine: (out, error) => ({
        topic: quarantine,
        key: out.key,
        value: { code: error.code, index: error.context.index },
      }),
    });
    const running = runner.run();
    await waitFor(() => runner.stats().committed >= 4, { timeoutMs: 60_000, what: 'commit 4 records' });
    await runner.stop();
    await running;

    expect(received.map((r) => r.decodeError?.code)).toEqual([
      undefined,
      'PARSE_ERROR',
      'PARSE_ERROR',
      undefined,
    ]);
    expect(await readAll(client, output, { readCommitted: true })).toEqual([{ id: 'a', invalid: false }]);
    expect(await readAll(client, quarantine, { readCommitted: true })).toEqual([
      { offset: '1', code: 'PARSE_ERROR' },
      { offset: '2', code: 'PARSE_ERROR' },
      { code: 'SCHEMA_MISMATCH', index: 3 },
    ]);
    expect(runner.stats()).toMatchObject({ decodeErrors: 2, quarantined: 1, committed: 4 });
  });

  it('retries a chunk after a transient handler error and stops on a permanent one', async () => {
    const [input, output] = (await topics(1, 'in', 'out')) as [string, string];
    await produceNumbered(client, input, 0, 20);
    let calls = 0;
    const runner = runnerFor(mode, {
      topics: [input],
      handler: async (batch) => {
        calls += 1;
        if (calls === 1) throw new PipelineError('HTTP_TRANSIENT', 'flaky dependency');
        if (batch.some((r) => idOf(r) === 'r20')) throw new PipelineError('JOB_FAILED', 'cannot go on');
        return copyTo(output)(batch);
      },
    });
    const running = runner.run();
    await waitFor(() => runner.stats().committed >= 20, { timeoutMs: 60_000, what: 'commit 20 records' });
    expect(runner.stats().retries).toBe(1);

    await produceNumbered(client, input, 20, 21);
    await expect(running).rejects.toMatchObject({ code: 'JOB_FAILED' });
    expect(runner.ready()).toBe(false);
    expect(runner.stats().committed).toBe(20);
  });
});

describe('consumer runner, transactional abort', () => {
  it('aborts a transaction that failed after producing: nothing visible, offsets kept, chunk re-delivered', async () => {
    const [input, output] = (await topics(1, 'in', 'out')) as [string, string];
    await produceNumbered(client, input, 0, 30);
    const groupId = uniqueName('kt.group');
    const firstOffsets: string[] = [];
    const committedAtRetry: (string | null)[] = [];
    let commits = 0;
    const runner = runnerFor('transactional', {
      groupId,
      topics: [input],
      maxBatch: 30,
      handler: async (batch) => {
        firstOffsets.push(batch[0]?.offset ?? '?');
        return copyTo(output)(batch);
      },
      beforeCommit: async () => {
        commits += 1;
        if (commits === 1) throw new PipelineError('KAFKA_UNAVAILABLE', 'injected failure after produce');
        committedAtRetry.push(await committedAt(groupId, input));
      },
    });
    const running = runner.run();
    await waitFor(() => runner.stats().committed >= 30, { timeoutMs: 60_000, what: 'commit 30 records' });
    await runner.stop();
    await running;

    expect(firstOffsets).toEqual(['0', '0']);
    expect(committedAtRetry).toEqual([null]);
    const committedValues = (await readAll(client, output, { readCommitted: true })) as {
      id: string;
    }[];
    expect(committedValues.map((v) => v.id).sort()).toEqual(
      Array.from({ length: 30 }, (_, i) => `r${i}`).sort(),
    );
    // The aborted attempt did write its 30 records: a read_uncommitted reader sees both copies.
    const everything = await readAll(client, output, { readCommitted: false });
    expect(everything.length).toBe(60);
    expect(runner.stats().retries).toBe(1);
  });
});

describe('consumer runner readiness', () => {
  it('is not ready before run, ready once in the group, not ready after stop', async () => {
    const [input, output] = (await topics(1, 'in', 'out')) as [string, string];
    const runner = runnerFor('at-least-once', { topics: [input], handler: copyTo(output) });
    expect(runner.ready()).toBe(false);
    const running = runner.run();
    await waitFor(() => runner.ready(), { timeoutMs: 30_000, what: 'become ready' });
    await runner.stop();
    await running;
    expect(runner.ready()).toBe(false);
  });

  it('fails run() with KAFKA_UNAVAILABLE when the broker cannot be reached', async () => {
    const badClient = createKafka({
      brokers: '127.0.0.1:1',
      clientId: 'unreachable',
      logger: memoryLogger(),
      mode: 'development',
      connectionTimeoutMs: 500,
      retry: { retries: 2, initialRetryTimeMs: 100, maxRetryTimeMs: 300 },
    });
    const runner = createConsumerRunner({
      kafka: badClient,
      groupId: uniqueName('kt.group'),
      topics: ['nowhere'],
      codec: jsonTestCodec(),
      delivery: 'at-least-once',
      maxBatch: 10,
      handler: () => Promise.resolve([]),
    });
    const started = Date.now();
    await expect(runner.run()).rejects.toMatchObject({ code: 'KAFKA_UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(runner.ready()).toBe(false);

    const producer = createProducer({ kafka: badClient, codec: jsonTestCodec() });
    await expect(producer.connect()).rejects.toMatchObject({
      code: 'KAFKA_UNAVAILABLE',
      context: { operation: 'connect', kafkaError: 'KafkaJSConnectionError' },
    });
  });
});
