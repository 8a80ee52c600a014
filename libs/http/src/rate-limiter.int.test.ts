import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createRateLimiter,
  type Priority,
  type RateLimiterOptions,
  type SharedRateLimiter,
} from './rate-limiter.ts';
import type { Sleep } from '@ehrflow/resilience';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * Virtual time for limiter tests: the limiters read `now`, and their sleeps are timers that fire
 * only when the driver advances the clock — so a minute of traffic runs in milliseconds, and the
 * counts do not depend on how busy the machine is.
 */
class VirtualTime {
  now = 1_700_000_000_000;
  private timers: { at: number; resolve: () => void }[] = [];

  readonly sleep: Sleep = (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      const timer = { at: this.now + ms, resolve };
      this.timers.push(timer);
      signal?.addEventListener('abort', () => {
        this.timers = this.timers.filter((t) => t !== timer);
        reject(signal.reason as Error);
      });
    });

  pending(): number {
    return this.timers.length;
  }

  /** Jumps to the earliest timer and fires every timer due by then. */
  advance(): void {
    const next = Math.min(...this.timers.map((t) => t.at));
    this.now = Math.max(this.now, next);
    const due = this.timers.filter((t) => t.at <= this.now);
    this.timers = this.timers.filter((t) => t.at > this.now);
    for (const t of due) t.resolve();
  }
}

interface Consumer {
  readonly limiter: SharedRateLimiter;
  readonly priority: Priority;
  /** Virtual time at which the consumer stops asking. */
  readonly stopAt: number;
  /** Virtual times of its grants. */
  readonly grants: number[];
}

/**
 * Runs consumers that acquire in a loop until each reaches its stop time (calling `onGrant` after
 * each grant), advancing virtual time only when all are asleep.
 */
async function drive(
  time: VirtualTime,
  consumers: Consumer[],
  onGrant?: (consumer: Consumer) => Promise<void>,
): Promise<void> {
  let live = consumers.length;
  const loops = consumers.map(async (c) => {
    try {
      while (time.now < c.stopAt) {
        await c.limiter.acquire({ priority: c.priority });
        if (time.now < c.stopAt) {
          c.grants.push(time.now);
          await onGrant?.(c);
        }
      }
    } finally {
      live--;
    }
  });
  const settled = Promise.all(loops);
  const failures: Error[] = [];
  void settled.catch((err: unknown) => {
    failures.push(err instanceof Error ? err : new Error('consumer failed'));
  });
  while (live > 0) {
    const deadline = Date.now() + 5_000;
    // Wait (bounded, in real time) until every live consumer is blocked on a virtual timer.
    while (time.pending() < live && live > 0 && failures.length === 0) {
      if (Date.now() > deadline) throw new Error('consumers did not settle');
      await new Promise((resolve) => setImmediate(resolve));
    }
    const [failure] = failures;
    if (failure !== undefined) throw failure;
    if (live > 0) time.advance();
  }
  await settled;
}

describe('createRateLimiter (Redis)', () => {
  const connections: Redis[] = [];
  const keys: string[] = [];
  let admin: Redis;

  beforeAll(() => {
    admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  });

  afterEach(async () => {
    if (keys.length > 0) await admin.del(...keys.splice(0));
    await Promise.all(connections.splice(0).map((c) => c.quit()));
  });

  afterAll(async () => {
    await admin.quit();
  });

  /** A limiter on its own connection, as a separate replica would have. */
  function replica(sourceId: string, options: Partial<RateLimiterOptions> = {}): SharedRateLimiter {
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    connections.push(redis);
    keys.push(`ehrflow:rl:${sourceId}`, `ehrflow:rl:${sourceId}:waiting`);
    return createRateLimiter({ redis, sourceId, publishedLimitPerMinute: 100, ...options });
  }

  const newSource = (): string => `test-${randomUUID().slice(0, 12)}`;

  /** A small deterministic PRNG in [0, 1) (mulberry32), so the jitter of a test run repeats. */
  const seededJitter = (seed: number): (() => number) => {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  };

  it('shares one budget between two replicas (60% of the published limit)', async () => {
    const time = new VirtualTime();
    const source = newSource();
    const opts = { now: () => time.now, sleep: time.sleep };
    const stopAt = time.now + 60_000;
    const a: Consumer = { limiter: replica(source, opts), priority: 'incremental', stopAt, grants: [] };
    const b: Consumer = { limiter: replica(source, opts), priority: 'incremental', stopAt, grants: [] };
    await drive(time, [a, b]);
    const total = a.grants.length + b.grants.length;
    // Budget 60/min plus the initial burst of 2 tokens; a second replica adds nothing.
    expect(total).toBeGreaterThanOrEqual(59);
    expect(total).toBeLessThanOrEqual(62);
    expect(a.grants.length).toBeGreaterThan(0);
    expect(b.grants.length).toBeGreaterThan(0);
  });

  it('serves incremental before backfill, and gives backfill the capacity incremental leaves', async () => {
    const time = new VirtualTime();
    const source = newSource();
    const opts = { now: () => time.now, sleep: time.sleep };
    const start = time.now;
    const incremental: Consumer = {
      limiter: replica(source, opts),
      priority: 'incremental',
      stopAt: start + 30_000,
      grants: [],
    };
    const backfill: Consumer = {
      limiter: replica(source, opts),
      priority: 'backfill',
      stopAt: start + 60_000,
      grants: [],
    };
    await drive(time, [backfill, incremental]);
    const firstHalf = (g: number[]): number => g.filter((t) => t < start + 30_000).length;
    // While both want tokens, backfill gets at most what the initial burst leaves above the reserve.
    expect(firstHalf(incremental.grants)).toBeGreaterThanOrEqual(29);
    expect(firstHalf(backfill.grants)).toBeLessThanOrEqual(1);
    // Once incremental is done, backfill runs at the budget (1 per second) after refilling its reserve.
    expect(backfill.grants.length - firstHalf(backfill.grants)).toBeGreaterThanOrEqual(26);
    expect(incremental.grants.length + backfill.grants.length).toBeLessThanOrEqual(62);
  });

  it('makes a backfill defer to a registered incremental waiter and to the reserve', async () => {
    let now = 1_000_000;
    const source = newSource();
    const limiter = replica(source, {
      now: () => now,
      burst: 4,
      backfillReserve: 0.5,
      waiterGraceMs: 10_000,
    });
    // Empty the bucket with incremental grants; the next incremental caller registers as waiting.
    for (let i = 0; i < 4; i++) expect((await limiter.tryAcquire('incremental')).granted).toBe(true);
    expect(await limiter.tryAcquire('incremental', 'waiter-1')).toEqual({ granted: false, waitMs: 1_000 });
    now += 5_000; // bucket full again (4 tokens)
    expect((await limiter.tryAcquire('backfill')).granted).toBe(false);
    expect((await limiter.tryAcquire('incremental', 'waiter-1')).granted).toBe(true);
    // No waiter now: backfill may take tokens while 1 + 50% of the burst remain, not below.
    expect((await limiter.tryAcquire('backfill')).granted).toBe(true);
    expect((await limiter.tryAcquire('backfill')).granted).toBe(false);
    expect((await limiter.tryAcquire('incremental')).granted).toBe(true);
  });

  it('forgets an incremental waiter whose replica stopped polling', async () => {
    let now = 1_000_000;
    const limiter = replica(newSource(), { now: () => now, burst: 2, waiterGraceMs: 2_000 });
    await limiter.tryAcquire('incremental');
    await limiter.tryAcquire('incremental');
    expect((await limiter.tryAcquire('incremental', 'crashed')).granted).toBe(false);
    now += 2_500; // bucket full, waiter still within its grace
    expect((await limiter.tryAcquire('backfill')).granted).toBe(false);
    now += 1_000; // waiter expired (1 s wait + 2 s grace)
    expect((await limiter.tryAcquire('backfill')).granted).toBe(true);
  });

  it('halves the shared rate on 429 (once per burst), floors it, and adds back after the cool-down', async () => {
    let now = 1_000_000;
    // random 0: a second 429 in a row pauses for exactly 1 s (see the strike test below).
    const opts = {
      now: () => now,
      coolDownMs: 10_000,
      decreaseGuardMs: 1_000,
      minRatePerMinute: 10,
      random: () => 0,
    };
    const source = newSource();
    const a = replica(source, opts);
    const b = replica(source, opts);
    expect(await b.currentRatePerMinute()).toBe(60);
    await a.onThrottled();
    await b.onThrottled(); // same overload seen by another replica: no second cut
    expect(await b.currentRatePerMinute()).toBe(30);
    now += 1_000;
    await b.onThrottled();
    expect(await a.currentRatePerMinute()).toBe(15);
    now += 1_000;
    await a.onThrottled(); // refused at 15/min
    expect(await a.currentRatePerMinute()).toBe(10); // floor, not 7.5
    await a.onSuccess(); // still cooling down
    expect(await a.currentRatePerMinute()).toBe(10);
    now += 10_000;
    await a.onSuccess();
    // The refused rate is the one of the first 429 of the streak (60/min): later strikes only say
    // the window was still full. A step is 5% of it, but of at most the current rate: +0.5.
    expect(await a.currentRatePerMinute()).toBeCloseTo(10.5);
    for (let i = 0; i < 1_000; i++) await b.onSuccess();
    expect(await a.currentRatePerMinute()).toBe(60); // back to the budget, never above
  });

  it('recovers quickly to 70% of the refused rate, then probes past it slowly', async () => {
    const now = 1_000_000;
    const limiter = replica(newSource(), { now: () => now, coolDownMs: 0 });
    await limiter.onThrottled(); // refused at 60/min, cut to 30
    const rates: number[] = [];
    for (let i = 0; i < 10; i++) {
      await limiter.onSuccess();
      rates.push(Math.round((await limiter.currentRatePerMinute()) * 100) / 100);
    }
    // +5% a success (of the current rate, below the refused 60) up to 42 (70% of 60), then +0.5%.
    expect(rates).toEqual([31.5, 33.08, 34.73, 36.47, 38.29, 40.2, 42.21, 42.42, 42.64, 42.85]);
  });

  it('treats a Retry-After refused again as a floor: the shared pause doubles per strike until a success', async () => {
    let now = 1_000_000;
    const source = newSource();
    const opts = { now: () => now, random: () => 0.5, decreaseGuardMs: 0 };
    const a = replica(source, opts);
    const b = replica(source, opts);
    expect(await a.onThrottled(3_000)).toMatchObject({ strikes: 1, pauseMs: 3_000 });
    now += 1_000;
    // Sent before the pause: the same overload, neither a strike nor a second cut; its own
    // Retry-After still counts from now.
    expect(await b.onThrottled(3_000)).toMatchObject({ strikes: 1, pauseMs: 3_000, ratePerMinute: 30 });
    now += 3_000; // the pause is over, the next request is refused again: the hint was too short
    expect(await b.onThrottled(3_000)).toMatchObject({ strikes: 2, pauseMs: 4_500 }); // ceiling 6 s, equal jitter
    expect(await a.tryAcquire('incremental')).toEqual({ granted: false, waitMs: 4_500 });
    now += 4_500;
    expect(await a.onThrottled(3_000)).toMatchObject({ strikes: 3, pauseMs: 9_000 }); // ceiling 12 s
    now += 9_000;
    await a.onSuccess();
    expect(await b.onThrottled(3_000)).toMatchObject({ strikes: 1, pauseMs: 3_000 });
    // Without any Retry-After a second strike still pauses (from 1 s), so a hintless server is not hammered.
    now += 3_000;
    expect(await b.onThrottled()).toMatchObject({ strikes: 2, pauseMs: 1_500 });
  });

  it.each(['sliding', 'fixed'] as const)(
    'converges under a server enforcing 12/min (%s window) of a published 600/min, with a constant Retry-After of 3 s',
    async (window) => {
      const time = new VirtualTime();
      const source = newSource();
      const start = time.now;
      // Seeded jitter: a run is the same every time (with Math.random one run in several ended a
      // grant or two short of the bound below).
      const limiters = [0, 1, 2, 3].map((i) =>
        replica(source, {
          now: () => time.now,
          sleep: time.sleep,
          publishedLimitPerMinute: 600,
          headroom: 1,
          random: seededJitter(i + 1),
        }),
      );
      // The server: 12 admitted requests per 60 s, over a trailing window or per clock minute.
      const admitted: number[] = [];
      const log: { at: number; ok: boolean }[] = [];
      const send = (): boolean => {
        const from = window === 'sliding' ? time.now - 60_000 : Math.floor(time.now / 60_000) * 60_000 - 1;
        const ok = admitted.filter((t) => t > from).length < 12;
        if (ok) admitted.push(time.now);
        log.push({ at: time.now, ok });
        return ok;
      };
      const stopAt = start + 30 * 60_000;
      const consumers: Consumer[] = limiters.map((limiter) => ({
        limiter,
        priority: 'backfill',
        stopAt,
        grants: [],
      }));
      // Four workers, as four concurrent downloads: each sends when granted and reports the answer.
      await drive(time, consumers, async (c) => {
        if (send()) await c.limiter.onSuccess();
        else await c.limiter.onThrottled(3_000);
      });
      const settled = log.filter((e) => e.at >= start + 5 * 60_000);
      const refused = settled.filter((e) => !e.ok).length;
      expect(settled.length).toBeGreaterThan(100);
      expect(refused / settled.length).toBeLessThan(0.1);
      // Converging, not collapsing: most of what the server grants is used (25 min × 12 = 300).
      expect(settled.length - refused).toBeGreaterThanOrEqual(0.6 * 25 * 12);
      const rate = await limiters[0]?.currentRatePerMinute();
      expect(rate).toBeGreaterThan(3);
      expect(rate).toBeLessThan(24);
    },
  );

  it('grants at the reduced rate after a 429, for every replica', async () => {
    const time = new VirtualTime();
    const source = newSource();
    const opts = { now: () => time.now, sleep: time.sleep, coolDownMs: 120_000 };
    const a = replica(source, opts);
    await a.onThrottled(); // 60/min → 30/min, bucket emptied
    const consumer: Consumer = {
      limiter: replica(source, opts),
      priority: 'incremental',
      stopAt: time.now + 60_000,
      grants: [],
    };
    await drive(time, [consumer]);
    expect(consumer.grants.length).toBeGreaterThanOrEqual(29);
    expect(consumer.grants.length).toBeLessThanOrEqual(31);
  });

  it('scales the backfill reserve with the reduced rate after a 429', async () => {
    const now = 2_000_000;
    const limiter = replica(newSource(), { now: () => now, burst: 4, backfillReserve: 0.5 });
    await limiter.onThrottled(); // 60/min → 30/min (one token per 2 s), bucket emptied
    // Incremental needs one token; backfill one plus the reserve at half rate (1 token), not the
    // full-budget reserve (2 tokens): 4 s rather than 6 s.
    expect(await limiter.tryAcquire('incremental')).toEqual({ granted: false, waitMs: 2_000 });
    expect(await limiter.tryAcquire('backfill')).toEqual({ granted: false, waitMs: 4_000 });
  });

  it('pauses every replica for the Retry-After of a 429', async () => {
    let now = 1_000_000;
    const source = newSource();
    const a = replica(source, { now: () => now });
    const b = replica(source, { now: () => now });
    await a.onThrottled(5_000);
    expect(await b.tryAcquire('incremental')).toEqual({ granted: false, waitMs: 5_000 });
    now += 5_000;
    expect((await b.tryAcquire('incremental')).granted).toBe(true);
  });

  it('uses the Redis clock by default, and a waiting acquire ends when its signal aborts', async () => {
    const source = newSource();
    // 0.6 per minute: after the burst, the next token is minutes away.
    const limiter = replica(source, { publishedLimitPerMinute: 1, burst: 1 });
    await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire({ signal: controller.signal });
    setTimeout(() => controller.abort(new Error('job cancelled')), 50);
    await expect(waiting).rejects.toThrow('job cancelled');
    expect(await admin.zcard(`ehrflow:rl:${source}:waiting`)).toBe(0);
    expect(await admin.pttl(`ehrflow:rl:${source}`)).toBeGreaterThan(0);
  });

  it('keeps granting from a local budget when Redis cannot be reached, and reports it', async () => {
    const redis = new Redis('redis://127.0.0.1:1', {
      maxRetriesPerRequest: 0,
      lazyConnect: true,
      retryStrategy: () => null,
    });
    redis.on('error', () => undefined);
    const transitions: boolean[] = [];
    const limiter = createRateLimiter({
      redis,
      sourceId: newSource(),
      publishedLimitPerMinute: 60,
      onLocalFallback: (active) => transitions.push(active),
    });
    // The first request goes; the next waits for the local bucket (a quarter of 36/min: 9/min).
    expect(await limiter.tryAcquire('incremental')).toEqual({ granted: true, waitMs: 0 });
    const next = await limiter.tryAcquire('incremental');
    expect(next.granted).toBe(false);
    expect(next.waitMs).toBeGreaterThan(6_000);
    expect(transitions).toEqual([true]);
    redis.disconnect();
  });
});
