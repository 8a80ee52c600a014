import { randomUUID } from 'node:crypto';
import { isPipelineError, PipelineError } from '@ehrflow/errors';
import type { Redis } from 'ioredis';
import { assertSourceId, defineScript, redisUnavailable } from './redis-script.ts';
import { sleep as defaultSleep, type Sleep } from '@ehrflow/resilience';

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
  onThrottled(retryAfterMs?: number): Promise<ThrottleOutcome | void>;
  /** A request succeeded: creep back toward the budget once the cool-down is over. */
  onSuccess(): Promise<number | void>;
}

/** What a 429 did to the shared limiter, for logs. */
export interface ThrottleOutcome {
  /** The granted rate after the 429. */
  readonly ratePerMinute: number;
  /** 429s in a row, each for a request sent after the previous pause was over. */
  readonly strikes: number;
  /** How long every replica now pauses. */
  readonly pauseMs: number;
}

/** One non-blocking try: granted, or how long to wait before the next try. */
export interface AcquireAttempt {
  readonly granted: boolean;
  readonly waitMs: number;
}

export interface SharedRateLimiter extends RateLimiter {
  onThrottled(retryAfterMs?: number): Promise<ThrottleOutcome>;
  /** As `RateLimiter.onSuccess`; resolves with the granted rate per minute after it. */
  onSuccess(): Promise<number>;
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
  /** AIMD floor per minute. Default 1 (or the budget when it is lower). */
  readonly minRatePerMinute?: number;
  /**
   * After a 429 cut, how long the rate stays cut before it may grow again. Default: the time the
   * cut rate takes to grant `coolDownRequests` requests (scale-free: 7 s at 36/min, 0.7 s at
   * 360/min), and after a streak of 429s at least the streak's length past the pause.
   */
  readonly coolDownMs?: number;
  /** Requests granted at the cut rate before it may grow again, when `coolDownMs` is not set. Default 4. */
  readonly coolDownRequests?: number;
  /** Per success, below 70% of the rate of the last 429: grow by this share of the current rate. Default 0.05. */
  readonly recoveryStep?: number;
  /** Per success, above 70% of the rate of the last 429: grow by this share (a slow probe). Default 0.005. */
  readonly probeStep?: number;
  /** 429s closer together than this cut the rate once (a burst of replicas seeing one overload). Default 1 s. */
  readonly decreaseGuardMs?: number;
  /** Longest shared pause after repeated 429s (never below a Retry-After). Default 5 min. */
  readonly maxPauseMs?: number;
  /** How long an incremental waiter stays registered beyond its next poll. Default 2 s. */
  readonly waiterGraceMs?: number;
  /** Limiter state is forgotten after this long without use. Default 10 min. */
  readonly idleTtlMs?: number;
  /** Injected clock (epoch ms) for tests; by default the Redis server clock, one clock for all replicas. */
  readonly now?: () => number;
  readonly sleep?: Sleep;
  /** Uniform in [0, 1) for the pause jitter; injectable for tests. */
  readonly random?: () => number;
  /**
   * While Redis is unreachable, this replica grants requests from a bucket of its own at this
   * share of the last shared rate (never below the floor, no burst, one priority). Default 0.25: a
   * conservative guess that a few replicas do the same meanwhile.
   */
  readonly localShare?: number;
  /** Called when the limiter falls back to its local budget (true) and returns to Redis (false). */
  readonly onLocalFallback?: (active: boolean) => void;
}

// Shared by the three scripts: the clock and the token bucket stored in one hash.
// Fields: tokens, ts (last refill), rate (granted per minute), coolUntil, lastCut, pausedUntil,
// ceil (the rate of the first 429 after a success: where the server said no), strikes (429s in a
// row, each after the previous pause was over), streakAt (when the streak began). The bucket holds one burst at the full budget and shrinks with the
// rate (at least one token): a cut rate refilled into a full-budget bucket would send a burst the
// server just refused.
const BUCKET_LUA = `
local function clock(arg)
  local now = tonumber(arg)
  if now >= 0 then return now end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function load(key, now, budget, cap)
  local h = redis.call('HMGET', key, 'tokens', 'ts', 'rate', 'coolUntil', 'lastCut', 'pausedUntil', 'ceil', 'strikes',
    'streakAt')
  local s = {}
  s.rate = math.min(tonumber(h[3]) or budget, budget)
  s.cap = math.max(1, cap * s.rate / budget)
  s.tokens = math.min(s.cap, tonumber(h[1]) or s.cap)
  s.ts = tonumber(h[2]) or now
  if now > s.ts then
    s.tokens = math.min(s.cap, s.tokens + (now - s.ts) * s.rate / 60000)
    s.ts = now
  end
  s.coolUntil = tonumber(h[4]) or 0
  s.lastCut = tonumber(h[5])
  s.pausedUntil = tonumber(h[6]) or 0
  s.ceil = tonumber(h[7]) or budget
  s.strikes = tonumber(h[8]) or 0
  s.streakAt = tonumber(h[9]) or now
  return s
end
local function save(key, s, ttl)
  redis.call('HSET', key, 'tokens', s.tokens, 'ts', s.ts, 'rate', s.rate, 'coolUntil', s.coolUntil,
    'pausedUntil', s.pausedUntil, 'ceil', s.ceil, 'strikes', s.strikes, 'streakAt', s.streakAt)
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
-- The reserve shrinks with the bucket: after a 429 the bucket refills slowly, and a reserve sized
-- from the full budget would hold backfills back far longer than the slow-down itself.
if priority == 'backfill' then need = math.min(s.cap, 1 + reserve * s.cap) end
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

// KEYS: bucket. ARGV: now, budget, capacity, floor, coolDownMs (-1: coolDownRequests at the cut
// rate), coolDownRequests, guardMs, retryAfterMs, ttlMs, random in [0, 1), maxPauseMs.
const THROTTLED = defineScript(`${BUCKET_LUA}
local now = clock(ARGV[1])
local budget, cap = tonumber(ARGV[2]), tonumber(ARGV[3])
local floor, coolDown, coolRequests = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local guard, retryAfter, ttl = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local rand, maxPause = tonumber(ARGV[10]), tonumber(ARGV[11])
local s = load(KEYS[1], now, budget, cap)
-- A 429 during a pause answers a request sent before it: the same overload, already counted.
-- So does one within the guard time of the last cut (replicas answered at once).
local fresh = now >= s.pausedUntil and (s.lastCut == nil or now - s.lastCut >= guard)
if fresh then
  s.strikes = s.strikes + 1
  -- The rate the server refused is the one of the first 429 after a success; later strikes of
  -- the same streak say the window is still full, not that a lower rate was refused.
  if s.strikes == 1 then
    s.ceil = s.rate
    s.streakAt = now
  end
  s.rate = math.max(math.min(floor, budget), s.rate * 0.5)
  s.lastCut = now
  local cool = coolDown
  if cool < 0 then
    -- A window that kept refusing for a while is at least that long: do not grow again before
    -- the streak's length has passed once more.
    cool = math.min(maxPause, math.max(coolRequests * 60000 / s.rate, now - s.streakAt))
  end
  s.coolUntil = math.max(s.coolUntil, now + cool)
  s.cap = math.max(1, cap * s.rate / budget)
end
s.tokens = math.min(s.tokens, 0)
-- A Retry-After that was honoured and refused again is a floor: the pause doubles per strike,
-- with equal jitter, up to maxPause (never below the Retry-After itself). A server that sends no
-- Retry-After gets the same from 1 s once it refuses twice in a row.
local pause = retryAfter
if fresh and s.strikes >= 2 then
  local hint = math.max(retryAfter, 1000)
  local ceiling = math.min(math.max(maxPause, hint), hint * 2 ^ (s.strikes - 1))
  pause = math.max(hint, math.floor(ceiling * (0.5 + 0.5 * rand)))
end
if pause > 0 then s.pausedUntil = math.max(s.pausedUntil, now + pause) end
if fresh and coolDown < 0 then s.coolUntil = math.max(s.coolUntil, s.pausedUntil + now - s.streakAt) end
save(KEYS[1], s, ttl)
return {tostring(s.rate), s.strikes, s.pausedUntil - now}
`);

// KEYS: bucket. ARGV: now, budget, capacity, recoveryStep, probeStep, ttlMs.
const SUCCEEDED = defineScript(`${BUCKET_LUA}
local budget = tonumber(ARGV[2])
local h = redis.call('HMGET', KEYS[1], 'rate', 'strikes')
local stored, strikes = tonumber(h[1]), tonumber(h[2]) or 0
if (stored == nil or stored >= budget) and strikes == 0 then return tostring(budget) end
local now = clock(ARGV[1])
local s = load(KEYS[1], now, budget, tonumber(ARGV[3]))
s.strikes = 0
if now >= s.coolUntil and s.rate < budget then
  -- Back quickly (+5% a success) to 70% of where the server said no, then probe slowly (+0.5%)
  -- past it. Steps are shares of the current rate (at most of the refused one): a rate refused
  -- long ago at the full budget does not bring the budget straight back.
  local base = math.min(s.ceil, s.rate)
  local step = tonumber(ARGV[5])
  if s.rate < 0.7 * s.ceil then step = tonumber(ARGV[4]) end
  s.rate = math.min(budget, s.rate + step * base)
end
save(KEYS[1], s, tonumber(ARGV[6]))
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
 * Adaptive (AIMD): the configured budget is a ceiling, not a truth; servers often enforce less
 * than they publish. `onThrottled()` halves the shared granted rate (never below the floor),
 * empties and shrinks the bucket, remembers the rate that was refused, and starts a cool-down;
 * 429s within `decreaseGuardMs` of the last cut, or arriving while every replica is paused, count
 * once, so ten replicas hit by one overload do not divide the rate by 1024. After the cool-down,
 * each `onSuccess()` adds back a step: large up to 70% of the refused rate, small beyond it, so
 * the rate settles just under what the server grants and only slowly probes past it.
 *
 * Retry-After. A Retry-After passed to `onThrottled` pauses every replica until it has passed. A
 * 429 for a request sent after that pause was over means the hint was too short: it becomes a
 * floor and the pause doubles per such strike (equal jitter, capped at `maxPauseMs`), until a
 * success resets the strikes.
 *
 * Without Redis. A command that fails with `REDIS_UNAVAILABLE` (or a client that is reconnecting)
 * does not fail the request: the replica grants from a local bucket at `localShare` of the last
 * shared rate (no burst, no priorities, 429s halve it locally) and goes back to the shared bucket
 * at the first command that succeeds again. `onLocalFallback` reports both transitions.
 */
export function createRateLimiter(options: RateLimiterOptions): SharedRateLimiter {
  const cfg = resolveOptions(options);
  const { redis } = options;
  const bucketKey = `ehrflow:rl:${options.sourceId}`;
  const waitersKey = `${bucketKey}:waiting`;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const clockArg = (): number => (options.now === undefined ? -1 : options.now());
  const local = createLocalBucket(cfg.floor, options.localShare ?? 0.25, options.now ?? Date.now);
  let lastSharedRate = cfg.budget;
  let degraded = false;
  const setDegraded = (value: boolean): void => {
    if (degraded === value) return;
    degraded = value;
    if (value) local.reset(lastSharedRate);
    options.onLocalFallback?.(value);
  };
  // While the client is reconnecting, commands would wait in its offline queue: go local at once.
  const redisUsable = (): boolean => {
    const status = (redis as { status?: unknown }).status;
    if (status === 'reconnecting' || status === 'close' || status === 'end') return false;
    return !(degraded && status === 'connecting');
  };
  /** Runs a shared command, or answers LOCAL when Redis cannot be reached (then the local bucket decides). */
  const viaShared = async <T>(command: () => Promise<T>): Promise<T | typeof LOCAL> => {
    if (!redisUsable()) {
      setDegraded(true);
      return LOCAL;
    }
    try {
      const result = await command();
      setDegraded(false);
      return result;
    } catch (err) {
      if (!isPipelineError(err) || err.code !== 'REDIS_UNAVAILABLE') throw err;
      setDegraded(true);
      return LOCAL;
    }
  };

  const tryAcquire = async (priority: Priority, waiterId = ''): Promise<AcquireAttempt> => {
    const args = [clockArg(), cfg.budget, cfg.burst, priority, cfg.reserve, waiterId, cfg.graceMs, cfg.ttlMs];
    const reply = await viaShared(
      async () => (await ACQUIRE(redis, [bucketKey, waitersKey], args)) as [number, number],
    );
    if (reply === LOCAL) {
      const waitMs = local.take();
      return { granted: waitMs === 0, waitMs };
    }
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
        cfg.coolDownMs ?? -1,
        cfg.coolDownRequests,
        cfg.guardMs,
        retryAfterMs ?? 0,
        cfg.ttlMs,
        random(),
        cfg.maxPauseMs,
      ];
      const reply = await viaShared(
        async () => (await THROTTLED(redis, [bucketKey], args)) as [string, number, number],
      );
      if (reply === LOCAL) return local.throttled(retryAfterMs);
      lastSharedRate = Number(reply[0]);
      return { ratePerMinute: lastSharedRate, strikes: reply[1], pauseMs: Math.max(0, reply[2]) };
    },
    async onSuccess() {
      const args = [clockArg(), cfg.budget, cfg.burst, cfg.recoveryStep, cfg.probeStep, cfg.ttlMs];
      const reply = await viaShared(async () => Number(await SUCCEEDED(redis, [bucketKey], args)));
      if (reply === LOCAL) return local.rate();
      lastSharedRate = reply;
      return reply;
    },
    async currentRatePerMinute() {
      const stored = await viaShared(async () => {
        try {
          return await redis.hget(bucketKey, 'rate');
        } catch (err) {
          throw redisUnavailable(err);
        }
      });
      if (stored === LOCAL) return local.rate();
      return stored === null ? cfg.budget : Math.min(cfg.budget, Number(stored));
    },
  };
}

const LOCAL = Symbol('local budget');

/**
 * The budget of one replica while Redis is unreachable: a bucket of one token refilled at a share
 * of the last shared rate (never below the floor). No priorities and no burst: it only has to keep
 * the replica well under the source's limit until the shared bucket is back. A 429 meanwhile
 * halves it and pauses for the Retry-After, as the shared one would.
 */
function createLocalBucket(floor: number, share: number, now: () => number) {
  let rate = floor;
  let tokens = 1;
  let ts = now();
  let pausedUntil = 0;
  return {
    reset(sharedRate: number): void {
      rate = Math.max(floor, sharedRate * share);
      ts = now();
    },
    /** 0 when a request may go now (the token is taken), else how long to wait. */
    take(): number {
      const t = now();
      if (t < pausedUntil) return pausedUntil - t;
      tokens = Math.min(1, tokens + (Math.max(0, t - ts) * rate) / 60_000);
      ts = t;
      if (tokens >= 1) {
        tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil(((1 - tokens) * 60_000) / rate));
    },
    throttled(retryAfterMs: number | undefined): ThrottleOutcome {
      rate = Math.max(floor, rate / 2);
      tokens = 0;
      pausedUntil = Math.max(pausedUntil, now() + (retryAfterMs ?? 0));
      return { ratePerMinute: rate, strikes: 0, pauseMs: Math.max(0, pausedUntil - now()) };
    },
    rate: (): number => rate,
  };
}

interface ResolvedOptions {
  readonly budget: number;
  readonly burst: number;
  readonly reserve: number;
  readonly floor: number;
  /** Undefined: derived from `coolDownRequests` at the cut rate. */
  readonly coolDownMs: number | undefined;
  readonly coolDownRequests: number;
  readonly recoveryStep: number;
  readonly probeStep: number;
  readonly guardMs: number;
  readonly maxPauseMs: number;
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
    floor: options.minRatePerMinute ?? Math.min(1, budget),
    coolDownMs: options.coolDownMs,
    coolDownRequests: options.coolDownRequests ?? 4,
    recoveryStep: options.recoveryStep ?? 0.05,
    probeStep: options.probeStep ?? 0.005,
    guardMs: options.decreaseGuardMs ?? 1_000,
    maxPauseMs: options.maxPauseMs ?? 300_000,
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
  if (!(resolved.coolDownRequests > 0)) problems.push('coolDownRequests');
  if (!(resolved.recoveryStep > 0 && resolved.recoveryStep <= 1)) problems.push('recoveryStep');
  if (!(resolved.probeStep > 0 && resolved.probeStep <= 1)) problems.push('probeStep');
  if (options.localShare !== undefined && !(options.localShare > 0 && options.localShare <= 1))
    problems.push('localShare');
  for (const [name, value] of Object.entries({
    coolDownMs: resolved.coolDownMs ?? 0,
    decreaseGuardMs: resolved.guardMs,
    maxPauseMs: resolved.maxPauseMs,
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
