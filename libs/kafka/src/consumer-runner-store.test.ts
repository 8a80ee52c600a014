import { PipelineError } from '@ehrflow/errors';
import { describe, expect, it } from 'vitest';
import { createConsumerRunner } from './consumer-runner.ts';
import type { CommitPoint } from './delivery.ts';
import type { PositionStore, StoredChunk } from './position-store.ts';
import { memoryLogger } from './testing/kafka.ts';
import { fakeClient, fakeConsumer, fakeProducer, type FakeBatchMessage } from './testing/fakes.ts';

const msgs = (from: number, to: number): FakeBatchMessage[] =>
  Array.from({ length: to - from }, (_, i) => ({ offset: String(from + i), value: `v${from + i}` }));

/** A store keeping positions in a map, as the loader keeps them in PostgreSQL. */
function memoryStore(initial: Record<string, string> = {}) {
  const positions = new Map(Object.entries(initial));
  const chunks: { offsets: string[]; commit: string }[] = [];
  const skipped: CommitPoint[] = [];
  let failures = 0;
  let ahead: string | undefined;
  const store: PositionStore = {
    next: (topic, partition) => positions.get(`${topic}|${partition}`),
    store: (chunk: StoredChunk) => {
      if (failures > 0) {
        failures -= 1;
        return Promise.reject(new PipelineError('DATABASE_UNAVAILABLE', 'database flaked'));
      }
      chunks.push({ offsets: chunk.messages.map((m) => m.offset), commit: chunk.commit.offset });
      positions.set(`${chunk.topic}|${chunk.partition}`, chunk.commit.offset);
      return Promise.resolve({
        records: chunk.messages.length,
        ...(ahead === undefined ? {} : { next: ahead }),
      });
    },
    skip: (point) => {
      skipped.push(point);
      return Promise.resolve();
    },
  };
  return {
    store,
    chunks,
    skipped,
    failNext: (n: number) => (failures = n),
    storedAhead: (next: string) => (ahead = next),
  };
}

function setup(initial: Record<string, string> = {}) {
  const fake = fakeConsumer();
  const producer = fakeProducer();
  const mem = memoryStore(initial);
  const runner = createConsumerRunner(
    {
      kafka: fakeClient(producer),
      groupId: 'loader',
      topics: ['in'],
      positionStore: mem.store,
      maxBatch: 2,
      partitionsConsumedConcurrently: 2,
      logger: memoryLogger(),
      retry: { initialMs: 1, maxMs: 2, maxAttempts: 3 },
      heartbeatIntervalMs: 5,
    },
    { consumer: fake.consumer, producer: () => producer },
  );
  return { fake, producer, mem, runner };
}

/** Starts the runner; returns run()'s promise wrapped (awaiting a bare one would wait for the stop). */
async function started(runner: { run(): Promise<void>; started(): Promise<void> }) {
  const running = runner.run();
  running.catch(() => undefined);
  await runner.started();
  return { running };
}

describe('consumer runner with a position store (fakes)', () => {
  it('seeks to the stored positions on assignment, stores chunks with their positions, commits nothing to Kafka', async () => {
    const { fake, producer, mem, runner } = setup({ 'in|0': '3' });
    const { running } = await started(runner);
    fake.join({ in: [0, 1] });
    expect(fake.log.seeks).toEqual([{ topic: 'in', partition: 0, offset: '3' }]);

    // Offsets 3..5 are records; offset 6 is a trailing transaction marker.
    await fake.feed('in', 0, msgs(3, 6), { lastOffset: '6', highWatermark: '7' });
    expect(mem.chunks).toEqual([
      { offsets: ['3', '4'], commit: '5' },
      { offsets: ['5'], commit: '7' },
    ]);
    expect(fake.log.commits).toEqual([]);
    expect(producer.calls).toEqual([]);
    expect(fake.log.resolved).toEqual(['4', '6']);
    expect(runner.stats()).toMatchObject({ committed: 3, batches: 2, produced: 0, lag: 0 });
    await runner.stop();
    await running;
  });

  it('retries a chunk the store failed transiently and counts the retries', async () => {
    const { fake, mem, runner } = setup();
    const { running } = await started(runner);
    fake.join({ in: [0] });
    mem.failNext(2);
    await fake.feed('in', 0, msgs(0, 2));
    expect(mem.chunks).toEqual([{ offsets: ['0', '1'], commit: '2' }]);
    expect(runner.stats()).toMatchObject({ retries: 2, committed: 2 });
    await runner.stop();
    await running;
  });

  it('continues from the stored position when another consumer stored further', async () => {
    const { fake, mem, runner } = setup();
    const { running } = await started(runner);
    fake.join({ in: [0] });
    mem.storedAhead('10');
    await fake.feed('in', 0, msgs(0, 4));
    // The first chunk learns the partition is stored up to 10: the rest of this fetch is skipped.
    expect(mem.chunks).toEqual([{ offsets: ['0', '1'], commit: '2' }]);
    expect(fake.log.seeks).toEqual([{ topic: 'in', partition: 0, offset: '10' }]);
    await runner.stop();
    await running;
  });

  it('moves a position past a fetch that held only transaction markers through the store', async () => {
    const { fake, mem, runner } = setup();
    const { running } = await started(runner);
    fake.join({ in: [0] });
    fake.emit(fake.events.END_BATCH_PROCESS, { topic: 'in', partition: 0, batchSize: 0, lastOffset: '7' });
    await runner.stop();
    await running;
    expect(mem.skipped).toEqual([{ topic: 'in', partition: 0, offset: '8' }]);
    expect(fake.log.commits).toEqual([]);
  });

  it('stops with the store’s permanent failure', async () => {
    const { fake, mem, runner } = setup();
    mem.store.store = () => Promise.reject(new TypeError('a bug in the store'));
    const running = runner.run();
    await runner.started();
    fake.join({ in: [0] });
    await fake.feed('in', 0, msgs(0, 1));
    await expect(running).rejects.toThrow(TypeError);
  });
});
