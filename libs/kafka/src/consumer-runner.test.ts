import { PipelineError } from '@ehrflow/errors';
import { describe, expect, it } from 'vitest';
import type { KafkaMessage } from 'kafkajs';
import { chunkBounds, createConsumerRunner, type ConsumerRunnerOptions } from './consumer-runner.ts';
import { memoryLogger } from './testing/kafka.ts';
import type { InputRecord, Output } from './records.ts';
import {
  fakeClient,
  fakeCodec,
  fakeConsumer,
  fakeProducer,
  sentValues,
  type FakeBatchMessage,
} from './testing/fakes.ts';

const msgs = (from: number, to: number): FakeBatchMessage[] =>
  Array.from({ length: to - from }, (_, i) => ({
    offset: String(from + i),
    value: JSON.stringify({ id: `r${from + i}` }),
  }));
const copy = (batch: readonly InputRecord[]): Promise<Output[]> =>
  Promise.resolve(
    batch.map((r) => ({ topic: 'out', key: r.key ?? 'k', value: { id: (r.value as { id: string }).id } })),
  );

function setup(overrides: Partial<ConsumerRunnerOptions> = {}) {
  const fake = fakeConsumer();
  const producer = fakeProducer();
  const runner = createConsumerRunner(
    {
      kafka: fakeClient(producer),
      groupId: 'g',
      topics: ['in'],
      codec: fakeCodec(),
      delivery: 'at-least-once',
      maxBatch: 2,
      handler: copy,
      logger: memoryLogger(),
      retry: { initialMs: 1, maxMs: 2, maxAttempts: 3 },
      heartbeatIntervalMs: 5,
      ...overrides,
    },
    { consumer: fake.consumer, producer: () => producer },
  );
  return { fake, producer, runner };
}

/** Starts the runner and joins the group; returns run()'s promise wrapped (so awaiting this does not await it). */
async function started(runner: { run(): Promise<void> }, fake: ReturnType<typeof fakeConsumer>) {
  const running = runner.run();
  running.catch(() => undefined);
  await new Promise((resolve) => setImmediate(resolve));
  fake.join({ in: [0] });
  return { running };
}

describe('consumer runner (fakes)', () => {
  it('splits a batch into chunks, produces each, then commits past it (trailing markers included)', async () => {
    const { fake, producer, runner } = setup();
    const { running } = await started(runner, fake);
    // Offsets 0..4 are records; offset 5 is a transaction marker kafkajs filtered out.
    await fake.feed('in', 0, msgs(0, 5), { lastOffset: '5', highWatermark: '6' });

    expect(producer.calls.filter((c) => c.op === 'send').map(sentValues)).toEqual([
      ['out-value|{"id":"r0"}', 'out-value|{"id":"r1"}'],
      ['out-value|{"id":"r2"}', 'out-value|{"id":"r3"}'],
      ['out-value|{"id":"r4"}'],
    ]);
    expect(fake.log.commits.map((c) => c.offset)).toEqual(['2', '4', '6']);
    expect(fake.log.resolved).toEqual(['1', '3', '5']);
    expect(runner.stats()).toMatchObject({ consumed: 5, produced: 5, committed: 5, batches: 3, lag: 0 });
    await runner.stop();
    await running;
  });

  it('hands undecodable records to the handler instead of dropping them', async () => {
    const seen: InputRecord[] = [];
    const { fake, runner } = setup({
      maxBatch: 10,
      handler: (batch) => {
        seen.push(...batch);
        return Promise.resolve([]);
      },
    });
    const { running } = await started(runner, fake);
    await fake.feed('in', 0, [
      { offset: '0', value: '{"id":"a"}' },
      { offset: '1', value: 'garbage' },
      { offset: '2', value: null },
    ]);
    expect(seen.map((r) => r.decodeError?.code ?? 'ok')).toEqual(['ok', 'PARSE_ERROR', 'PARSE_ERROR']);
    expect(seen[1]).toMatchObject({ offset: '1', raw: Buffer.from('garbage') });
    expect(runner.stats()).toMatchObject({ committed: 3, decodeErrors: 2 });
    await runner.stop();
    await running;
  });

  it('retries a transient failure with the partition paused, committing only once it succeeds', async () => {
    let calls = 0;
    const { fake, runner } = setup({
      handler: (batch) => {
        calls += 1;
        if (calls <= 2) return Promise.reject(new PipelineError('HTTP_TRANSIENT', 'dependency flaked'));
        return copy(batch);
      },
    });
    const { running } = await started(runner, fake);
    await fake.feed('in', 0, msgs(0, 2));
    expect(calls).toBe(3);
    expect(fake.log.commits.map((c) => c.offset)).toEqual(['2']);
    expect(fake.log.pauses).toBe(1);
    expect(fake.log.resumes).toBe(1);
    expect(runner.stats().retries).toBe(2);
    await runner.stop();
    await running;
  });

  it('stops and rejects run() on a permanent handler error, committing nothing of that chunk', async () => {
    const { fake, producer, runner } = setup({
      handler: () => Promise.reject(new PipelineError('JOB_FAILED', 'bad')),
    });
    const { running } = await started(runner, fake);
    await fake.feed('in', 0, msgs(0, 2));
    await expect(running).rejects.toMatchObject({ code: 'JOB_FAILED' });
    expect(fake.log.commits).toEqual([]);
    expect(producer.calls.filter((c) => c.op === 'send')).toEqual([]);
    expect(runner.ready()).toBe(false);
  });

  it('treats a programmer error as permanent (never retried)', async () => {
    let calls = 0;
    const { fake, runner } = setup({
      handler: () => {
        calls += 1;
        return Promise.reject(new TypeError('undefined is not a function'));
      },
    });
    const { running } = await started(runner, fake);
    await fake.feed('in', 0, msgs(0, 2));
    await expect(running).rejects.toThrow(TypeError);
    expect(calls).toBe(1);
  });

  it('gives up with RETRIES_EXHAUSTED after maxAttempts transient failures', async () => {
    const { fake, runner } = setup({
      handler: () => Promise.reject(new PipelineError('HTTP_TRANSIENT', 'down')),
    });
    const { running } = await started(runner, fake);
    await fake.feed('in', 0, msgs(0, 2));
    await expect(running).rejects.toMatchObject({ code: 'RETRIES_EXHAUSTED', context: { attempts: 3 } });
    expect(fake.log.commits).toEqual([]);
  });

  it('waits out a dependency outage beyond maxAttempts, then commits the chunk', async () => {
    let calls = 0;
    const { fake, runner } = setup({
      handler: (batch) => {
        calls += 1;
        if (calls <= 5) return Promise.reject(new PipelineError('REGISTRY_UNAVAILABLE', 'registry down'));
        return copy(batch);
      },
    });
    const { running } = await started(runner, fake);
    await fake.feed('in', 0, msgs(0, 2));
    expect(calls).toBe(6);
    expect(fake.log.commits.map((c) => c.offset)).toEqual(['2']);
    expect(runner.stats().retries).toBe(5);
    await runner.stop();
    await running;
  });

  it('stops at the offending output without onQuarantine, and produces the replacement with it', async () => {
    const invalid = (batch: readonly InputRecord[]): Promise<Output[]> =>
      Promise.resolve(
        batch.map((r) => ({ topic: 'out', key: 'k', value: { id: r.offset, invalid: r.offset === '1' } })),
      );
    const strict = setup({ handler: invalid });
    const { running: strictRun } = await started(strict.runner, strict.fake);
    await strict.fake.feed('in', 0, msgs(0, 2));
    await expect(strictRun).rejects.toMatchObject({ code: 'SCHEMA_MISMATCH', context: { index: 1 } });

    const lenient = setup({
      handler: invalid,
      onQuarantine: (output, error) => ({
        topic: 'quarantine',
        key: output.key,
        value: { code: error.code },
      }),
    });
    const { running: lenientRun } = await started(lenient.runner, lenient.fake);
    await lenient.fake.feed('in', 0, msgs(0, 2));
    expect(lenient.producer.calls.filter((c) => c.op === 'send').map(sentValues)).toEqual([
      ['out-value|{"id":"0","invalid":false}', 'quarantine-value|{"code":"SCHEMA_MISMATCH"}'],
    ]);
    expect(lenient.runner.stats()).toMatchObject({ quarantined: 1, committed: 2 });
    await lenient.runner.stop();
    await lenientRun;
  });

  it('quarantines an output above maxOutputBytes as TOO_LARGE, without it stops rather than send it', async () => {
    // The broker would refuse the record on every attempt (message.max.bytes).
    const sized = (batch: readonly InputRecord[]): Promise<Output[]> =>
      Promise.resolve(
        batch.map((r) => ({
          topic: 'out',
          key: 'k',
          value: { id: r.offset, pad: 'x'.repeat(r.offset === '1' ? 2_000 : 10) },
        })),
      );
    const strict = setup({ handler: sized, maxOutputBytes: 1_000 });
    const { running: strictRun } = await started(strict.runner, strict.fake);
    await strict.fake.feed('in', 0, msgs(0, 3));
    await expect(strictRun).rejects.toMatchObject({
      code: 'TOO_LARGE',
      context: { entry: 1, maxBytes: 1_000 },
    });
    expect(strict.producer.calls.filter((c) => c.op === 'send')).toEqual([]);

    const lenient = setup({
      handler: sized,
      maxOutputBytes: 1_000,
      onQuarantine: (output, error) => ({
        topic: 'quarantine',
        key: output.key,
        value: { code: error.code },
      }),
    });
    const { running: lenientRun } = await started(lenient.runner, lenient.fake);
    await lenient.fake.feed('in', 0, msgs(0, 3));
    const sent = lenient.producer.calls.filter((c) => c.op === 'send').map(sentValues);
    expect(sent.flat()).toContain('quarantine-value|{"code":"TOO_LARGE"}');
    expect(sent.flat().filter((v) => v.startsWith('out-value|'))).toHaveLength(2);
    expect(lenient.runner.stats()).toMatchObject({ quarantined: 1, committed: 3 });
    await lenient.runner.stop();
    await lenientRun;
  });

  it('on stop, finishes and commits the chunk in flight, then leaves the rest uncommitted', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let handled = 0;
    const { fake, runner } = setup({
      handler: async (batch) => {
        handled += 1;
        if (handled === 1) await gate;
        return copy(batch);
      },
    });
    const { running } = await started(runner, fake);
    const fed = fake.feed('in', 0, msgs(0, 6));
    await new Promise((resolve) => setImmediate(resolve));
    const stopping = runner.stop();
    expect(runner.ready()).toBe(false);
    release();
    await stopping;
    await fed;
    await running;
    expect(handled).toBe(1);
    expect(fake.log.commits.map((c) => c.offset)).toEqual(['2']);
  });

  it('rejects stop() with DRAIN_TIMEOUT when the chunk in flight does not finish in time', async () => {
    const { fake, runner } = setup({
      stopTimeoutMs: 30,
      handler: () => new Promise<Output[]>(() => undefined),
    });
    const { running } = await started(runner, fake);
    void fake.feed('in', 0, msgs(0, 2));
    await new Promise((resolve) => setImmediate(resolve));
    await expect(runner.stop()).rejects.toMatchObject({ code: 'DRAIN_TIMEOUT' });
    await expect(running).rejects.toMatchObject({ code: 'DRAIN_TIMEOUT' });
  });

  it('commits past a fetch that held only transaction markers', async () => {
    const { fake, runner } = setup();
    const { running } = await started(runner, fake);
    fake.emit(fake.events.END_BATCH_PROCESS, { topic: 'in', partition: 0, batchSize: 0, lastOffset: '7' });
    fake.emit(fake.events.END_BATCH_PROCESS, { topic: 'in', partition: 0, batchSize: 3, lastOffset: '9' });
    await runner.stop();
    await running;
    expect(fake.log.commits).toEqual([{ topic: 'in', partition: 0, offset: '8', via: 'consumer' }]);
  });

  it('is ready only while running and in the group', async () => {
    const { fake, runner } = setup();
    expect(runner.ready()).toBe(false);
    const running = runner.run();
    await new Promise((resolve) => setImmediate(resolve));
    expect(runner.ready()).toBe(false);
    fake.join({ in: [0] });
    expect(runner.ready()).toBe(true);
    fake.emit(fake.events.CRASH, { error: new Error('x'), restart: true });
    expect(runner.ready()).toBe(false);
    fake.join({ in: [0] });
    await runner.stop();
    await running;
    expect(runner.ready()).toBe(false);
  });

  it('rejects run() when kafkajs crashes without restarting', async () => {
    const { fake, runner } = setup();
    const { running } = await started(runner, fake);
    fake.emit(fake.events.CRASH, { error: new PipelineError('KAFKA_REJECTED', 'fenced'), restart: false });
    await expect(running).rejects.toMatchObject({ code: 'KAFKA_REJECTED' });
  });

  it('checks its options', () => {
    expect(() => setup({ maxBatch: 0 })).toThrow(RangeError);
    expect(() => setup({ delivery: 'transactional' })).toThrow(/transactionalId/);
  });
});

describe('consumer runner, transactional (fakes)', () => {
  it('commits outputs and offsets in one transaction per chunk, never through the consumer', async () => {
    const { fake, producer, runner } = setup({
      delivery: 'transactional',
      transactionalId: 'v-0',
      maxBatch: 10,
    });
    const { running } = await started(runner, fake);
    await fake.feed('in', 0, msgs(0, 3), { lastOffset: '3' });
    expect(producer.calls.map((c) => c.op)).toEqual([
      'connect',
      'tx.begin',
      'tx.send',
      'tx.offsets',
      'tx.commit',
    ]);
    expect(producer.calls.find((c) => c.op === 'tx.offsets')).toMatchObject({ groupId: 'g', offset: '4' });
    expect(fake.log.commits).toEqual([]);
    await runner.stop();
    await running;
  });
});

describe('chunkBounds', () => {
  const message = (bytes: number, offset: number): KafkaMessage =>
    ({ key: null, value: Buffer.alloc(bytes), offset: String(offset) }) as unknown as KafkaMessage;

  it('cuts a batch at the record limit and at the byte limit, whichever comes first', () => {
    const batch = [100, 100, 100, 100, 100].map((b, i) => message(b, i));
    expect(chunkBounds(batch, 2, undefined)).toEqual([
      [0, 2],
      [2, 4],
      [4, 5],
    ]);
    expect(chunkBounds(batch, 10, 250)).toEqual([
      [0, 2],
      [2, 4],
      [4, 5],
    ]);
    expect(chunkBounds(batch, 10, 1000)).toEqual([[0, 5]]);
  });

  it('puts a record larger than the byte limit in a chunk of its own', () => {
    const batch = [10, 500, 10].map((b, i) => message(b, i));
    expect(chunkBounds(batch, 10, 100)).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
  });
});
