import { describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { createRateLimiter, resolveOptions } from './rate-limiter.ts';

describe('rate limiter options', () => {
  it('derives the budget from the published limit and the default 60% headroom', () => {
    const r = resolveOptions({ sourceId: 'epic', publishedLimitPerMinute: 600 });
    expect(r.budget).toBe(360);
    expect(r.burst).toBe(6); // one second of budget
    expect(r.reserve).toBe(0.5);
    // The floor is low enough for a server that grants far less than it publishes.
    expect(r.floor).toBe(1);
    expect(r.coolDownMs).toBeUndefined(); // derived from coolDownRequests at the cut rate
    expect(r.coolDownRequests).toBe(4);
    expect([r.recoveryStep, r.probeStep]).toEqual([0.05, 0.005]);
    expect(r.maxPauseMs).toBe(300_000);
  });

  it('keeps the floor at the budget when the budget is below one request a minute', () => {
    expect(resolveOptions({ sourceId: 'x', publishedLimitPerMinute: 1, headroom: 0.5 }).floor).toBe(0.5);
  });

  it('keeps at least two tokens of burst so a backfill reserve can exist', () => {
    expect(resolveOptions({ sourceId: 'x', publishedLimitPerMinute: 10 }).burst).toBe(2);
  });

  it('lists every invalid setting by name, without values', () => {
    let caught: unknown;
    try {
      resolveOptions({
        sourceId: 'x',
        publishedLimitPerMinute: 0,
        headroom: 1.5,
        backfillReserve: 1,
        probeStep: 0,
        idleTtlMs: 5,
      });
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({
      code: 'CONFIG_INVALID',
      context: { invalid: 'publishedLimitPerMinute,headroom,backfillReserve,probeStep,idleTtlMs' },
    });
  });

  it('refuses a source id that could break out of its Redis key', () => {
    expect(() => resolveOptions({ sourceId: 'a b', publishedLimitPerMinute: 60 })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });
});

/** A Redis client whose commands fail while `down` is set (as ioredis' do when the server is gone). */
function flakyRedis(): { redis: Redis; state: { down: boolean; status: string; calls: number } } {
  const state = { down: true, status: 'ready', calls: 0 };
  const fail = (): Promise<never> => Promise.reject(new Error('Connection is closed.'));
  const redis = {
    get status() {
      return state.status;
    },
    evalsha: () => {
      state.calls++;
      // Granted at once when Redis is back: [granted, waitMs] or the rate for the other scripts.
      return state.down ? fail() : Promise.resolve([1, 0]);
    },
    eval: () => (state.down ? fail() : Promise.resolve([1, 0])),
    hget: () => (state.down ? fail() : Promise.resolve(null)),
    zrem: () => Promise.resolve(0),
  } as unknown as Redis;
  return { redis, state };
}

describe('rate limiter without Redis', () => {
  it('keeps granting from a local budget at a quarter of the shared rate, and says so once', async () => {
    let now = 1_700_000_000_000;
    const waits: number[] = [];
    const transitions: boolean[] = [];
    const { redis } = flakyRedis();
    const limiter = createRateLimiter({
      redis,
      sourceId: 'site-a',
      publishedLimitPerMinute: 100, // budget 60/min, local 15/min: one request every 4 s
      now: () => now,
      sleep: (ms) => {
        waits.push(ms);
        now += ms;
        return Promise.resolve();
      },
      onLocalFallback: (active) => transitions.push(active),
    });
    const start = now;
    for (let i = 0; i < 4; i++) await limiter.acquire({ priority: 'backfill' });
    // The first request goes at once; the next three wait 4 s each.
    expect(now - start).toBe(12_000);
    expect(waits).toEqual([4_000, 4_000, 4_000]);
    expect(transitions).toEqual([true]);
    expect(await limiter.currentRatePerMinute()).toBe(15);
  });

  it('skips a reconnecting client without sending to it, and returns to Redis when it answers', async () => {
    const now = 1_700_000_000_000;
    const transitions: boolean[] = [];
    const { redis, state } = flakyRedis();
    const limiter = createRateLimiter({
      redis,
      sourceId: 'site-a',
      publishedLimitPerMinute: 100,
      now: () => now,
      sleep: () => Promise.resolve(),
      onLocalFallback: (active) => transitions.push(active),
    });
    state.status = 'reconnecting';
    expect((await limiter.tryAcquire('backfill')).granted).toBe(true);
    expect(state.calls).toBe(0);
    state.status = 'ready';
    state.down = false;
    expect(await limiter.tryAcquire('backfill')).toEqual({ granted: true, waitMs: 0 });
    expect(state.calls).toBe(1);
    expect(transitions).toEqual([true, false]);
  });

  it('halves the local budget on a 429 and pauses for its Retry-After', async () => {
    const now = 1_700_000_000_000;
    const { redis } = flakyRedis();
    const limiter = createRateLimiter({
      redis,
      sourceId: 'site-a',
      publishedLimitPerMinute: 100,
      now: () => now,
      sleep: () => Promise.resolve(),
    });
    expect((await limiter.tryAcquire('backfill')).granted).toBe(true);
    expect(await limiter.onThrottled(10_000)).toEqual({ ratePerMinute: 7.5, strikes: 0, pauseMs: 10_000 });
    expect(await limiter.tryAcquire('backfill')).toEqual({ granted: false, waitMs: 10_000 });
  });

  it('counts any failing command as an unreachable Redis (the script wrapper codes them so)', async () => {
    const redis = {
      status: 'ready',
      evalsha: () => Promise.reject(new TypeError('a bug')),
      eval: () => Promise.reject(new TypeError('a bug')),
    } as unknown as Redis;
    const limiter = createRateLimiter({ redis, sourceId: 'site-a', publishedLimitPerMinute: 100 });
    // defineScript wraps every client failure as REDIS_UNAVAILABLE: the request is not failed for it.
    await expect(limiter.tryAcquire('backfill')).resolves.toMatchObject({ granted: true });
  });
});
