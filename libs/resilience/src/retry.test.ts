import { PipelineError } from '@ehrflow/errors';
import { describe, expect, it } from 'vitest';
import { backoffCeilingMs, fullJitterDelayMs, retry, shouldRetry, type RetryPolicy } from './retry.ts';
import { sleep } from './sleep.ts';

const transient = (): PipelineError => new PipelineError('HTTP_TRANSIENT', 'boom');

/** A policy whose sleeps are recorded instead of waited. */
function recording(overrides: Partial<RetryPolicy> = {}): { policy: RetryPolicy; sleeps: number[] } {
  const sleeps: number[] = [];
  const policy: RetryPolicy = {
    retries: 4,
    initialMs: 100,
    factor: 2,
    maxMs: 1_000,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    ...overrides,
  };
  return { policy, sleeps };
}

describe('retry', () => {
  it('returns the first success and passes the attempt number', async () => {
    const { policy } = recording();
    const seen: number[] = [];
    const result = await retry((attempt) => {
      seen.push(attempt);
      return attempt < 3 ? Promise.reject(transient()) : Promise.resolve('ok');
    }, policy);
    expect(result).toBe('ok');
    expect(seen).toEqual([1, 2, 3]);
  });

  it('sleeps with full jitter: random × min(maxMs, initial × factor^n)', async () => {
    const { policy: top, sleeps: topSleeps } = recording({ random: () => 0.999999 });
    await expect(retry(() => Promise.reject(transient()), top)).rejects.toThrow();
    // Ceilings 100, 200, 400, 800 (then 1000 would be the cap); the top of the range stays below each.
    expect(topSleeps).toEqual([99, 199, 399, 799]);

    const { policy: bottom, sleeps: bottomSleeps } = recording({ random: () => 0 });
    await expect(retry(() => Promise.reject(transient()), bottom)).rejects.toThrow();
    expect(bottomSleeps).toEqual([0, 0, 0, 0]);

    const { policy: half, sleeps: halfSleeps } = recording({ retries: 6, random: () => 0.5 });
    await expect(retry(() => Promise.reject(transient()), half)).rejects.toThrow();
    expect(halfSleeps).toEqual([50, 100, 200, 400, 500, 500]);
  });

  it('computes the jitter ceiling with the cap', () => {
    const p = { initialMs: 100, factor: 3, maxMs: 2_000 };
    expect([0, 1, 2, 3].map((n) => backoffCeilingMs(p, n))).toEqual([100, 300, 900, 2_000]);
  });

  it('waits at least the retryAfterMs a rate-limited error carries', async () => {
    const { policy, sleeps } = recording({ random: () => 0.5 });
    let calls = 0;
    await retry(() => {
      calls++;
      if (calls === 1)
        return Promise.reject(new PipelineError('RATE_LIMITED', 'slow down', { retryAfterMs: 7_000 }));
      return Promise.resolve('ok');
    }, policy);
    expect(sleeps).toEqual([7_000]);
  });

  it('keeps the jittered wait when it is longer than retryAfterMs', async () => {
    const { policy, sleeps } = recording({ random: () => 0.5 });
    let calls = 0;
    await retry(() => {
      calls++;
      return calls === 1
        ? Promise.reject(new PipelineError('RATE_LIMITED', 'x', { retryAfterMs: 10 }))
        : Promise.resolve(1);
    }, policy);
    // Equal jitter over the first ceiling (initialMs 100): between 50 and 100.
    expect(sleeps).toEqual([75]);
  });

  it('treats a Retry-After refused again as a floor: the wait grows exponentially, with jitter, to the cap', async () => {
    const tooShort = (): PipelineError => new PipelineError('RATE_LIMITED', 'x', { retryAfterMs: 3_000 });
    const { policy, sleeps } = recording({ random: () => 0.5, rateLimitRetries: 5, rateLimitMaxMs: 20_000 });
    await expect(retry(() => Promise.reject(tooShort()), policy)).rejects.toMatchObject({
      code: 'RETRIES_EXHAUSTED',
    });
    // Ceilings 3 000, 6 000, 12 000, 20 000 (cap), 20 000; the first wait is exactly what was asked.
    expect(sleeps).toEqual([3_000, 4_500, 9_000, 15_000, 15_000]);
    const { policy: top, sleeps: topSleeps } = recording({ random: () => 0.999, rateLimitRetries: 2 });
    await expect(retry(() => Promise.reject(tooShort()), top)).rejects.toThrow();
    // The cap never cuts below the floor the server gave.
    expect(topSleeps).toEqual([3_000, 3_000]);
  });

  it('counts 429s apart from transient failures, and can retry them until the signal aborts', async () => {
    const { policy, sleeps } = recording({
      retries: 1,
      rateLimitRetries: Number.POSITIVE_INFINITY,
      random: () => 0,
    });
    let calls = 0;
    const result = await retry(() => {
      calls++;
      if (calls === 3) return Promise.reject(transient());
      if (calls < 40) return Promise.reject(new PipelineError('RATE_LIMITED', 'x', { retryAfterMs: 1 }));
      return Promise.resolve('done');
    }, policy);
    expect(result).toBe('done');
    expect(sleeps).toHaveLength(39);
    const controller = new AbortController();
    const aborting = recording({
      rateLimitRetries: Number.POSITIVE_INFINITY,
      signal: controller.signal,
      sleep: () => {
        controller.abort(new PipelineError('RATE_LIMIT_STALLED', 'stalled'));
        return Promise.reject(controller.signal.reason as Error);
      },
    });
    await expect(
      retry(() => Promise.reject(new PipelineError('RATE_LIMITED', 'x')), aborting.policy),
    ).rejects.toMatchObject({ code: 'RATE_LIMIT_STALLED' });
  });

  it.each([new TypeError('bug'), new RangeError('bug'), new ReferenceError('bug'), new SyntaxError('bug')])(
    'never retries the programmer error %s',
    async (err) => {
      const { policy, sleeps } = recording();
      let calls = 0;
      const outcome = retry(() => {
        calls++;
        return Promise.reject(err);
      }, policy);
      await expect(outcome).rejects.toBe(err);
      expect(calls).toBe(1);
      expect(sleeps).toEqual([]);
    },
  );

  it.each(['HTTP_PERMANENT', 'MISSING_REQUIRED', 'AUTH_REJECTED'] as const)(
    'does not retry %s and rethrows it unchanged',
    async (code) => {
      const { policy } = recording();
      const err = new PipelineError(code, 'no');
      let calls = 0;
      await expect(
        retry(() => {
          calls++;
          return Promise.reject(err);
        }, policy),
      ).rejects.toBe(err);
      expect(calls).toBe(1);
    },
  );

  it('does not retry plain errors it cannot classify', async () => {
    const { policy } = recording();
    let calls = 0;
    await expect(
      retry(() => {
        calls++;
        return Promise.reject(new Error('unknown'));
      }, policy),
    ).rejects.toThrow('unknown');
    expect(calls).toBe(1);
  });

  it('retries an auth error once when the caller says so, never twice', async () => {
    const { policy } = recording({ retryAuthOnce: true });
    let calls = 0;
    const err = new PipelineError('AUTH_EXPIRED', 'refused');
    await expect(
      retry(() => {
        calls++;
        return Promise.reject(err);
      }, policy),
    ).rejects.toBe(err);
    expect(calls).toBe(2);
  });

  it('stops at bail(err) and rethrows that error', async () => {
    const { policy } = recording();
    const reason = new PipelineError('HTTP_TRANSIENT', 'would be retried');
    let calls = 0;
    await expect(
      retry((_attempt, bail) => {
        calls++;
        return bail(reason);
      }, policy),
    ).rejects.toBe(reason);
    expect(calls).toBe(1);
  });

  it('throws RETRIES_EXHAUSTED with the last error as cause and the attempt count', async () => {
    const { policy } = recording({ retries: 2 });
    const errors = [transient(), transient(), transient()];
    let calls = 0;
    const outcome = retry(() => Promise.reject(errors[calls++]!), policy);
    const err = await outcome.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PipelineError);
    expect((err as PipelineError).code).toBe('RETRIES_EXHAUSTED');
    expect((err as PipelineError).cause).toBe(errors[2]);
    expect((err as PipelineError).context).toMatchObject({ attempts: 3, lastCode: 'HTTP_TRANSIENT' });
  });

  it('keeps retrying transient failures for minRetryWindowMs after the first, past `retries`', async () => {
    // Virtual clock: each sleep advances it, so the window is measured in the loop's own waits.
    let clock = 0;
    const sleeps: number[] = [];
    const policy: RetryPolicy = {
      retries: 2,
      initialMs: 100,
      factor: 2,
      maxMs: 1_000,
      minRetryWindowMs: 5_000,
      random: () => 0.5,
      now: () => clock,
      sleep: (ms) => {
        sleeps.push(ms);
        clock += ms;
        return Promise.resolve();
      },
    };
    let attempts = 0;
    // A link down for 4 s: with retries alone (2) the loop would give up after 150 ms of waits.
    const result = await retry(() => {
      attempts++;
      return clock < 4_000 ? Promise.reject(transient()) : Promise.resolve('up');
    }, policy);
    expect(result).toBe('up');
    expect(attempts).toBeGreaterThan(3);
    // The waits kept growing to the cap rather than restarting.
    expect(sleeps.slice(0, 5)).toEqual([50, 100, 200, 400, 500]);

    // Down for longer than the window: RETRIES_EXHAUSTED once the window has passed.
    clock = 0;
    sleeps.length = 0;
    await expect(retry(() => Promise.reject(transient()), policy)).rejects.toMatchObject({
      code: 'RETRIES_EXHAUSTED',
    });
    expect(clock).toBeGreaterThanOrEqual(5_000);
    expect(clock).toBeLessThan(5_000 + 1_000);
    // Without the window, `retries` alone bounds the loop.
    clock = 0;
    await expect(
      retry(() => Promise.reject(transient()), { ...policy, minRetryWindowMs: 0 }),
    ).rejects.toMatchObject({
      context: { attempts: 3 },
    });
  });

  it('tells onRetry about each retry and survives a throwing listener', async () => {
    const events: { attempt: number; delayMs: number }[] = [];
    const { policy } = recording({
      random: () => 0.5,
      onRetry: (e) => {
        events.push({ attempt: e.attempt, delayMs: e.delayMs });
        throw new Error('listener bug');
      },
    });
    let calls = 0;
    await expect(
      retry(() => (++calls < 3 ? Promise.reject(transient()) : Promise.resolve('ok')), policy),
    ).resolves.toBe('ok');
    expect(events).toEqual([
      { attempt: 1, delayMs: 50 },
      { attempt: 2, delayMs: 100 },
    ]);
  });

  it('aborts a pending sleep with the signal reason (real sleep)', async () => {
    const controller = new AbortController();
    const reason = new Error('job cancelled');
    const outcome = retry(
      () => {
        setTimeout(() => controller.abort(reason), 5);
        return Promise.reject(transient());
      },
      { retries: 5, initialMs: 60_000, factor: 1, maxMs: 60_000, random: () => 1, signal: controller.signal },
    );
    await expect(outcome).rejects.toBe(reason);
  });

  it('does not start when the signal has already aborted', async () => {
    let calls = 0;
    const outcome = retry(
      () => {
        calls++;
        return Promise.resolve(1);
      },
      { retries: 1, initialMs: 1, factor: 2, maxMs: 1, signal: AbortSignal.abort(new Error('stop')) },
    );
    await expect(outcome).rejects.toThrow('stop');
    expect(calls).toBe(0);
  });

  it('refuses an invalid policy', async () => {
    await expect(
      retry(() => Promise.resolve(1), { retries: -1, initialMs: 1, factor: 2, maxMs: 1 }),
    ).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
  });
});

describe('shouldRetry', () => {
  it('sorts failures by class', () => {
    expect(shouldRetry(transient(), false)).toBe(true);
    expect(shouldRetry(new PipelineError('RATE_LIMITED', 'x'), false)).toBe(true);
    expect(shouldRetry(new PipelineError('AUTH_EXPIRED', 'x'), false)).toBe(false);
    expect(shouldRetry(new PipelineError('AUTH_EXPIRED', 'x'), true)).toBe(true);
    expect(shouldRetry(new PipelineError('RETRIES_EXHAUSTED', 'x'), true)).toBe(false);
    expect(shouldRetry(new TypeError('x'), true)).toBe(false);
  });
});

describe('fullJitterDelayMs', () => {
  it('doubles its ceiling per retry up to the cap, with full jitter below it', () => {
    const policy = { initialMs: 100, factor: 2, maxMs: 1_000 };
    const top = () => 0.999999;
    expect([0, 1, 2, 3, 4, 5].map((n) => fullJitterDelayMs(policy, n, top))).toEqual([
      99, 199, 399, 799, 999, 999,
    ]);
    expect(fullJitterDelayMs(policy, 3, () => 0)).toBe(0);
  });
});

describe('sleep', () => {
  it('ends at once when its signal aborts, rejecting with the abort reason', async () => {
    const controller = new AbortController();
    const reason = new Error('stopping');
    const started = Date.now();
    const slept = sleep(60_000, controller.signal);
    controller.abort(reason);
    await expect(slept).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
