import { afterAll, describe, expect, it } from 'vitest';
import { isPipelineError } from '@ehrflow/errors';
import { asBuffer, createOrderedPool, slices } from './ordered-pool.ts';
import type { EchoTask } from './testing/echo-worker.ts';

const pool = createOrderedPool<EchoTask, { value: string; bytes: Uint8Array }>({
  filename: new URL('./testing/echo-worker.ts', import.meta.url),
  threads: 2,
});
afterAll(() => pool.close());

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

describe('createOrderedPool', () => {
  it('warms up every worker before the first task', async () => {
    await pool.warmUp();
    expect(pool.stats().completed).toBeGreaterThanOrEqual(2);
  });

  it('gives results in task order, whatever order the workers finish in', async () => {
    // The first tasks sleep longest, so they finish last.
    const tasks = Array.from({ length: 8 }, (_, i) => ({ value: `v${i}`, delayMs: (8 - i) * 15 }));
    const results = await pool.map(tasks);
    expect(results.map((r) => r.value)).toEqual(tasks.map((t) => t.value));
    expect(asBuffer(results[3]!.bytes).toString()).toBe('v3');
    expect(Buffer.isBuffer(asBuffer(results[3]!.bytes))).toBe(true);
  });

  it('fails the call with the code of a failed task, and no value of it', async () => {
    const err = await failureOf(
      pool.map([
        { value: 'ok', delayMs: 0 },
        { value: 'CANARY-PHI-4711', delayMs: 5, fail: 'pipeline' },
      ]),
    );
    expect(isPipelineError(err) && err.code).toBe('CONTRACT_VIOLATION');
    expect(JSON.stringify({ message: (err as Error).message, ...(err as object) })).not.toContain('CANARY');
  });

  it('turns any other exception into WORKER_FAILED, without its message', async () => {
    const err = await failureOf(pool.map([{ value: 'CANARY-PHI-4711', delayMs: 0, fail: 'throw' }]));
    expect(isPipelineError(err) && err.code).toBe('WORKER_FAILED');
    expect(isPipelineError(err) && err.retryable).toBe(true);
    expect((err as Error).message).not.toContain('CANARY');
  });

  it('fails the call when a worker exits, and keeps working with a replacement', async () => {
    const err = await failureOf(
      pool.map([
        { value: 'a', delayMs: 0 },
        { value: 'b', delayMs: 0, fail: 'exit' },
      ]),
    );
    expect(isPipelineError(err) && err.code).toBe('WORKER_FAILED');
    const again = await pool.map([
      { value: 'c', delayMs: 0 },
      { value: 'd', delayMs: 0 },
    ]);
    expect(again.map((r) => r.value)).toEqual(['c', 'd']);
  });
});

describe('createOrderedPool with workers that cannot start', () => {
  it('fails every call as WORKER_FAILED instead of leaving tasks queued for good', async () => {
    // A heap far too small to load the worker module: each worker dies while starting.
    const dying = createOrderedPool<EchoTask, unknown>({
      filename: new URL('./testing/echo-worker.ts', import.meta.url),
      threads: 2,
      maxHeapMb: 4,
    });
    try {
      const warm = await failureOf(dying.warmUp());
      expect(isPipelineError(warm) && warm.code).toBe('WORKER_FAILED');
      for (let i = 0; i < 3; i++) {
        const err = await failureOf(dying.map([{ value: 'a', delayMs: 0 }]));
        expect(isPipelineError(err) && err.code).toBe('WORKER_FAILED');
      }
    } finally {
      await dying.close();
    }
  });
});

describe('slices', () => {
  it('splits in order into at most the given number of parts', () => {
    expect(slices([1, 2, 3, 4, 5], 2)).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
    expect(slices([1], 4)).toEqual([[1]]);
    expect(slices([], 3)).toEqual([]);
  });
});
