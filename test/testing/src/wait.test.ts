import { describe, expect, it } from 'vitest';
import { waitFor, waitForValue } from './wait.ts';

describe('waitFor', () => {
  it('resolves once the condition holds', async () => {
    let calls = 0;
    await waitFor(() => ++calls >= 3, { what: 'three calls', timeoutMs: 2_000, intervalMs: 1 });
    expect(calls).toBe(3);
  });

  it('fails naming what it waited for when the time is up', async () => {
    await expect(
      waitFor(() => false, { what: 'the impossible', timeoutMs: 30, intervalMs: 5 }),
    ).rejects.toThrow('timed out after 30 ms waiting for the impossible');
  });

  it('propagates an error of the check at once', async () => {
    const started = Date.now();
    await expect(
      waitFor(
        () => {
          throw new TypeError('broken probe');
        },
        { what: 'x', timeoutMs: 5_000 },
      ),
    ).rejects.toThrow('broken probe');
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe('waitForValue', () => {
  it('returns the first defined value of the probe', async () => {
    const values = [undefined, undefined, 0, 7];
    const got = await waitForValue(() => Promise.resolve(values.shift()), {
      what: 'a value',
      timeoutMs: 2_000,
      intervalMs: 1,
    });
    expect(got).toBe(0);
  });
});
