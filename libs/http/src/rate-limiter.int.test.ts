import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createRateLimiter,
  type Priority,
  type RateLimiterOptions,
  type SharedRateLimiter,
} from './rate-limiter.ts';
import type { Sleep } from './sleep.ts';

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

/** Runs consumers that acquire in a loop until each reaches its stop time, advancing virtual time only when all are asleep. */
async function drive(time: VirtualTime, consumers: Consumer[]): Promise<void> {
  let live = consumers.length;
  const loops = consumers.map(async (c) => {
    try {
      while (time.now < c.stopAt) {
        await c.limiter.acquire({ priority: c.priority });
        if (time.now < c.stopAt) c.grants.push(time.now);
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
    const opts = {
      now: () => now,
      coolDownMs: 10_000,
      decreaseGuardMs: 1_000,
      minRatePerMinute: 10,
      increasePerSuccess: 6,
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
    await a.onThrottled();
    expect(await a.currentRatePerMinute()).toBe(10); // floor, not 7.5
    await a.onSuccess(); // still cooling down
    expect(await a.currentRatePerMinute()).toBe(10);
    now += 10_000;
    await a.onSuccess();
    await b.onSuccess();
    expect(await a.currentRatePerMinute()).toBe(22);
    for (let i = 0; i < 20; i++) await b.onSuccess();
    expect(await a.currentRatePerMinute()).toBe(60); // back to the budget, never above
  });

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

  it('reports Redis failures as REDIS_UNAVAILABLE', async () => {
    const redis = new Redis('redis://127.0.0.1:1', {
      maxRetriesPerRequest: 0,
      lazyConnect: true,
      retryStrategy: () => null,
    });
    redis.on('error', () => undefined);
    const limiter = createRateLimiter({ redis, sourceId: newSource(), publishedLimitPerMinute: 60 });
    await expect(limiter.tryAcquire('incremental')).rejects.toMatchObject({
      code: 'REDIS_UNAVAILABLE',
      errorClass: 'transient',
    });
    redis.disconnect();
  });
});
