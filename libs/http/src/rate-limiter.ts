import { randomUUID } from 'node:crypto';
import { PipelineError } from '@ehrflow/errors';
import type { Redis } from 'ioredis';
import { assertSourceId, defineScript, redisUnavailable } from './redis-script.ts';
import { sleep as defaultSleep, type Sleep } from './sleep.ts';

/** Incremental syncs are served before backfills of the same source. */
export type Priority = 'incremental' | 'backfill';

export interface AcquireOptions {
  readonly priority?: Priority;
  /** Bounds the wait: when it aborts, `acquire` rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
}

/** What every client needs from a limiter; `createRateLimiter` is the shared implementation. */
export interface RateLimiter {
  /** Resolves when a request may be sent. */
  acquire(options?: AcquireOptions): Promise<void>;
  /** The source answered 429: slow every replica down (and pause them for `retryAfterMs`). */
  onThrottled(retryAfterMs?: number): Promise<void>;
  /** A request succeeded: creep back toward the budget once the cool-down is over. */
  onSuccess(): Promise<void>;
}

/** One non-blocking try: granted, or how long to wait before the next try. */
export interface AcquireAttempt {
  readonly granted: boolean;
  readonly waitMs: number;
}

export interface SharedRateLimiter extends RateLimiter {
  /** `publishedLimitPerMinute × headroom`: the most the limiter ever grants. */
  readonly budgetPerMinute: number;
  /** One atomic try, without waiting; `waiterId` registers an incremental caller as waiting. */
  tryAcquire(priority: Priority, waiterId?: string): Promise<AcquireAttempt>;
  /** The effective rate all replicas share now (below the budget after a 429), for metrics. */
  currentRatePerMinute(): Promise<number>;
}

export interface RateLimiterOptions {
  readonly redis: Redis;
  /** Configured source id (never record data); keys are `ehrflow:rl:<sourceId>`. */
  readonly sourceId: string;
  /** The limit the EHR vendor publishes for this client, per minute. */
  readonly publishedLimitPerMinute: number;
  /** Fraction of the published limit we allow ourselves. Default 0.6. */
  readonly headroom?: number;
  /** Bucket capacity in tokens (largest burst). Default: one second of budget, at least 2. */
  readonly burst?: number;
  /** Fraction of the bucket a backfill must leave for incremental callers. Default 0.5. */
  readonly backfillReserve?: number;
  /** AIMD floor per minute. Default 5% of the budget, at least 1. */
  readonly minRatePerMinute?: number;
  /** After a 429, how long the rate stays cut before it may grow again. Default 30 s. */
  readonly coolDownMs?: number;
  /** Rate (per minute) added back per success after the cool-down. Default 2% of the budget. */
  readonly increasePerSuccess?: number;
  /** 429s closer together than this cut the rate once (a burst of replicas seeing one overload). Default 1 s. */
  readonly decreaseGuardMs?: number;
  /** How long an incremental waiter stays registered beyond its next poll. Default 2 s. */
  readonly waiterGraceMs?: number;
  /** Limiter state is forgotten after this long without use. Default 10 min. */
  readonly idleTtlMs?: number;
  /** Injected clock (epoch ms) for tests; by default the Redis server clock, one clock for all replicas. */
  readonly now?: () => number;
  readonly sleep?: Sleep;
}

// Shared by the three scripts: the clock and the token bucket stored in one hash.
// Fields: tokens, ts (last refill), rate (effective per minute), coolUntil, lastCut, pausedUntil.
const BUCKET_LUA = `
local function clock(arg)
  local now = tonumber(arg)
  if now >= 0 then return now end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function load(key, now, budget, cap)
  local h = redis.call('HMGET', key, 'tokens', 'ts', 'rate', 'coolUntil', 'lastCut', 'pausedUntil')
  local s = {}
  s.rate = math.min(tonumber(h[3]) or budget, budget)
  s.tokens = tonumber(h[1]) or cap
  s.ts = tonumber(h[2]) or now
  if now > s.ts then
    s.tokens = math.min(cap, s.tokens + (now - s.ts) * s.rate / 60000)
    s.ts = now
  end
  s.coolUntil = tonumber(h[4]) or 0
  s.lastCut = tonumber(h[5])
  s.pausedUntil = tonumber(h[6]) or 0
  return s
end
local function save(key, s, ttl)
  redis.call('HSET', key, 'tokens', s.tokens, 'ts', s.ts, 'rate', s.rate, 'coolUntil', s.coolUntil, 'pausedUntil', s.pausedUntil)
  if s.lastCut then redis.call('HSET', key, 'lastCut', s.lastCut) end
  redis.call('PEXPIRE', key, ttl)
end
`;

// KEYS: bucket, incremental waiters (zset member = waiter id, score = expiry).
// ARGV: now, budget, capacity, priority, reserve, waiterId, graceMs, ttlMs.
const ACQUIRE = defineScript(`${BUCKET_LUA}
local now = clock(ARGV[1])
local budget, cap = tonumber(ARGV[2]), tonumber(ARGV[3])
local priority, reserve = ARGV[4], tonumber(ARGV[5])
local waiter, grace, ttl = ARGV[6], tonumber(ARGV[7]), tonumber(ARGV[8])
local s = load(KEYS[1], now, budget, cap)
local perToken = 60000 / s.rate
local need = 1
-- The reserve shrinks with the rate: after a 429 the bucket refills slowly, and a reserve sized
-- from the full budget would hold backfills back far longer than the slow-down itself.
if priority == 'backfill' then need = math.min(cap, 1 + reserve * cap * s.rate / budget) end
local granted = 0
local wait = 0
if now < s.pausedUntil then
  wait = s.pausedUntil - now
elseif priority == 'backfill' then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. now)
  if redis.call('ZCARD', KEYS[2]) > 0 then wait = math.ceil(perToken) end
end
if wait == 0 then
  if s.tokens >= need then
    s.tokens = s.tokens - 1
    granted = 1
  else
    wait = math.max(1, math.ceil((need - s.tokens) * perToken))
  end
end
if priority == 'incremental' and waiter ~= '' then
  if granted == 1 then
    redis.call('ZREM', KEYS[2], waiter)
  else
    redis.call('ZADD', KEYS[2], now + wait + grace, waiter)
    redis.call('PEXPIRE', KEYS[2], ttl)
  end
end
save(KEYS[1], s, ttl)
return {granted, wait}
`);

// KEYS: bucket. ARGV: now, budget, capacity, floor, coolDownMs, guardMs, retryAfterMs, ttlMs.
const THROTTLED = defineScript(`${BUCKET_LUA}
local now = clock(ARGV[1])
local budget, cap = tonumber(ARGV[2]), tonumber(ARGV[3])
local floor, coolDown, guard = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local retryAfter, ttl = tonumber(ARGV[7]), tonumber(ARGV[8])
local s = load(KEYS[1], now, budget, cap)
if s.lastCut == nil or now - s.lastCut >= guard then
  s.rate = math.max(math.min(floor, budget), s.rate * 0.5)
  s.lastCut = now
end
s.tokens = math.min(s.tokens, 0)
s.coolUntil = math.max(s.coolUntil, now + coolDown)
if retryAfter > 0 then s.pausedUntil = math.max(s.pausedUntil, now + retryAfter) end
save(KEYS[1], s, ttl)
return tostring(s.rate)
`);

// KEYS: bucket. ARGV: now, budget, capacity, increase, ttlMs.
const SUCCEEDED = defineScript(`${BUCKET_LUA}
local budget = tonumber(ARGV[2])
local stored = tonumber(redis.call('HGET', KEYS[1], 'rate'))
if stored == nil or stored >= budget then return tostring(budget) end
local now = clock(ARGV[1])
local s = load(KEYS[1], now, budget, tonumber(ARGV[3]))
if now >= s.coolUntil then
  s.rate = math.min(budget, s.rate + tonumber(ARGV[4]))
  save(KEYS[1], s, tonumber(ARGV[5]))
end
return tostring(s.rate)
`);

/**
 * The one rate limiter: a token bucket in Redis shared by every replica and every job of a source,
 * refilled at `publishedLimitPerMinute × headroom` and updated only by atomic Lua scripts.
 *
 * Priority. An incremental caller takes a token whenever one is there. A backfill caller takes one
 * only when (a) no incremental caller is waiting — waiting incremental callers register in a
 * sorted set that expires entries a grace period after their next poll, so a crashed replica
 * cannot block backfills for long — and (b) the bucket still holds `backfillReserve × burst`
 * tokens after it takes one (scaled by the current rate over the budget after a 429), so an
 * incremental job that arrives gets a token at once.
 *
 * Adaptive (AIMD). `onThrottled()` halves the shared effective rate (never below the floor),
 * empties the bucket and starts a cool-down; 429s within `decreaseGuardMs` of the last cut count
 * once, so ten replicas hit by one overload do not divide the rate by 1024. After the cool-down,
 * each `onSuccess()` adds `increasePerSuccess` back until the budget is reached. A Retry-After
 * passed to `onThrottled` pauses every replica until it has passed.
 */
export function createRateLimiter(options: RateLimiterOptions): SharedRateLimiter {
  const cfg = resolveOptions(options);
  const { redis } = options;
  const bucketKey = `ehrflow:rl:${options.sourceId}`;
  const waitersKey = `${bucketKey}:waiting`;
  const sleep = options.sleep ?? defaultSleep;
  const clockArg = (): number => (options.now === undefined ? -1 : options.now());

  const tryAcquire = async (priority: Priority, waiterId = ''): Promise<AcquireAttempt> => {
    const args = [clockArg(), cfg.budget, cfg.burst, priority, cfg.reserve, waiterId, cfg.graceMs, cfg.ttlMs];
    const reply = (await ACQUIRE(redis, [bucketKey, waitersKey], args)) as [number, number];
    return { granted: reply[0] === 1, waitMs: reply[1] };
  };

  return {
    budgetPerMinute: cfg.budget,
    tryAcquire,
    async acquire({ priority = 'incremental', signal } = {}) {
      const waiterId = priority === 'incremental' ? randomUUID() : '';
      try {
        for (;;) {
          signal?.throwIfAborted();
          const attempt = await tryAcquire(priority, waiterId);
          if (attempt.granted) return;
          await sleep(attempt.waitMs, signal);
        }
      } catch (err) {
        // Leave no waiter behind to hold back backfills; expiry would clear it anyway.
        if (waiterId !== '') await redis.zrem(waitersKey, waiterId).catch(() => undefined);
        throw err;
      }
    },
    async onThrottled(retryAfterMs) {
      const args = [
        clockArg(),
        cfg.budget,
        cfg.burst,
        cfg.floor,
        cfg.coolDownMs,
        cfg.guardMs,
        retryAfterMs ?? 0,
        cfg.ttlMs,
      ];
      await THROTTLED(redis, [bucketKey], args);
    },
    async onSuccess() {
      await SUCCEEDED(redis, [bucketKey], [clockArg(), cfg.budget, cfg.burst, cfg.increase, cfg.ttlMs]);
    },
    async currentRatePerMinute() {
      let stored: string | null;
      try {
        stored = await redis.hget(bucketKey, 'rate');
      } catch (err) {
        throw redisUnavailable(err);
      }
      return stored === null ? cfg.budget : Math.min(cfg.budget, Number(stored));
    },
  };
}

interface ResolvedOptions {
  readonly budget: number;
  readonly burst: number;
  readonly reserve: number;
  readonly floor: number;
  readonly coolDownMs: number;
  readonly increase: number;
  readonly guardMs: number;
  readonly graceMs: number;
  readonly ttlMs: number;
}

/** Applies defaults and refuses a configuration that cannot work, listing which setting is wrong. */
export function resolveOptions(options: Omit<RateLimiterOptions, 'redis'>): ResolvedOptions {
  assertSourceId(options.sourceId);
  const headroom = options.headroom ?? 0.6;
  const budget = options.publishedLimitPerMinute * headroom;
  const resolved: ResolvedOptions = {
    budget,
    burst: options.burst ?? Math.max(2, budget / 60),
    reserve: options.backfillReserve ?? 0.5,
    floor: options.minRatePerMinute ?? Math.max(1, budget * 0.05),
    coolDownMs: options.coolDownMs ?? 30_000,
    increase: options.increasePerSuccess ?? budget * 0.02,
    guardMs: options.decreaseGuardMs ?? 1_000,
    graceMs: options.waiterGraceMs ?? 2_000,
    ttlMs: options.idleTtlMs ?? 600_000,
  };
  const problems: string[] = [];
  if (!(options.publishedLimitPerMinute > 0)) problems.push('publishedLimitPerMinute');
  if (!(headroom > 0 && headroom <= 1)) problems.push('headroom');
  // Derived defaults are only blamed when the caller set them; a bad budget is reported once.
  if (!(resolved.burst >= 1)) problems.push('burst');
  if (!(resolved.reserve >= 0 && resolved.reserve < 1)) problems.push('backfillReserve');
  if (options.minRatePerMinute !== undefined && !(options.minRatePerMinute > 0))
    problems.push('minRatePerMinute');
  if (options.increasePerSuccess !== undefined && !(options.increasePerSuccess > 0))
    problems.push('increasePerSuccess');
  for (const [name, value] of Object.entries({
    coolDownMs: resolved.coolDownMs,
    decreaseGuardMs: resolved.guardMs,
    waiterGraceMs: resolved.graceMs,
  })) {
    if (!(Number.isInteger(value) && value >= 0)) problems.push(name);
  }
  if (!(Number.isInteger(resolved.ttlMs) && resolved.ttlMs >= 1_000)) problems.push('idleTtlMs');
  if (problems.length > 0) {
    throw new PipelineError('CONFIG_INVALID', 'rate limiter options are invalid', {
      context: { sourceId: options.sourceId, invalid: problems.join(',') },
    });
  }
  return resolved;
}
