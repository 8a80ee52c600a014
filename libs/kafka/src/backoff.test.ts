import { describe, expect, it } from 'vitest';
import { backoffDelay, sleep } from './backoff.ts';

const policy = { initialMs: 100, maxMs: 1_000, maxAttempts: 5 };

describe('backoffDelay', () => {
  it('doubles its ceiling per attempt up to the cap, with full jitter below it', () => {
    const top = () => 0.999999;
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(policy, a, top))).toEqual([
      99, 199, 399, 799, 999, 999,
    ]);
    expect(backoffDelay(policy, 4, () => 0)).toBe(0);
  });
});

describe('sleep', () => {
  it('wakes early when its signal aborts', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const slept = sleep(60_000, controller.signal);
    controller.abort();
    await slept;
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
