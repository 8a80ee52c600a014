import { PipelineError, isPipelineError, isProgrammerError } from '@ehrflow/errors';
import { sleep as defaultSleep, type Sleep } from './sleep.ts';

/** What a retry listener learns about a failed attempt (no error values beyond code and class). */
export interface RetryEvent {
  /** 1-based number of the attempt that failed. */
  readonly attempt: number;
  /** How long the loop waits before the next attempt. */
  readonly delayMs: number;
  readonly error: unknown;
}

/**
 * How `retry` waits between attempts: exponential backoff with full jitter, capped.
 * Attempt n (0-based retry index) sleeps `random() × min(maxMs, initialMs × factor^n)`.
 *
 * Rate-limited failures (429) are counted and paced apart: a 429 is backpressure, not a fault.
 * The k-th one (1-based) sleeps between half and all of `min(rateLimitMaxMs, b × factor^(k-1))`
 * where `b = max(initialMs, Retry-After)`, and never less than the Retry-After it carries. So the
 * first 429 waits what the server asked; a server whose Retry-After was too short (the next
 * request is refused again) sees the wait grow from that floor, with jitter.
 */
export interface RetryPolicy {
  /** Retries after the first attempt for transient failures; `retries: 3` means at most 4 attempts. */
  readonly retries: number;
  /**
   * Retries allowed for rate-limited failures, counted apart from `retries`; may be
   * `Number.POSITIVE_INFINITY` when something else bounds the loop (the extractor's stall timeout
   * aborts the signal). Default: `retries`.
   */
  readonly rateLimitRetries?: number;
  /** Cap of the growing wait after repeated 429s (never below their Retry-After). Default `maxMs`. */
  readonly rateLimitMaxMs?: number;
  readonly initialMs: number;
  readonly factor: number;
  readonly maxMs: number;
  /** Aborts the loop: the pending sleep ends and `signal.reason` is thrown. */
  readonly signal?: AbortSignal;
  /** Told before each sleep; an exception it throws is swallowed so it cannot break the loop. */
  readonly onRetry?: (event: RetryEvent) => void;
  /** Uniform in [0, 1); injectable for tests. */
  readonly random?: () => number;
  /** Injectable for tests; must reject with `signal.reason` when the signal aborts. */
  readonly sleep?: Sleep;
  /** Retry an `auth`-class failure once (the caller refreshed credentials); off by default. */
  readonly retryAuthOnce?: boolean;
  /**
   * Transient failures are retried for at least this long after the first one, even once
   * `retries` are used up (the waits keep growing to `maxMs`): a link that is down for a while
   * costs a wait, not the operation. With full jitter, `retries` alone can be spent within a few
   * seconds. Default 0 (only `retries` counts).
   */
  readonly minRetryWindowMs?: number;
  /** Clock of `minRetryWindowMs`; injectable for tests. Default `Date.now`. */
  readonly now?: () => number;
}

/** Production defaults: 5 retries, 200 ms first ceiling, doubling, 30 s cap. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { retries: 5, initialMs: 200, factor: 2, maxMs: 30_000 };

/** Fast defaults for tests: the same shape, with millisecond waits. */
export const TEST_RETRY_POLICY: RetryPolicy = { retries: 3, initialMs: 1, factor: 2, maxMs: 5 };

/** Stops the loop from inside `fn`: `bail(err)` throws, and `retry` rethrows `err` unchanged. */
export type Bail = (err: unknown) => never;

/** Carries a bailed error through `fn`'s own stack; never escapes `retry`. */
class BailSignal extends Error {
  readonly error: unknown;
  constructor(error: unknown) {
    super('bail');
    this.error = error;
  }
}

/** The jitter ceiling of the n-th retry (0-based): `min(maxMs, initialMs × factor^n)`. */
export function backoffCeilingMs(
  policy: Pick<RetryPolicy, 'initialMs' | 'factor' | 'maxMs'>,
  retryIndex: number,
): number {
  return Math.min(policy.maxMs, policy.initialMs * policy.factor ** retryIndex);
}

/**
 * Exponential backoff with full jitter: uniform in `[0, backoffCeilingMs(policy, retryIndex))`,
 * so callers that failed together do not retry together.
 * @see https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */
export function fullJitterDelayMs(
  policy: Pick<RetryPolicy, 'initialMs' | 'factor' | 'maxMs'>,
  retryIndex: number,
  random: () => number = Math.random,
): number {
  return Math.floor(random() * backoffCeilingMs(policy, retryIndex));
}

/**
 * Whether a failure deserves another attempt: `transient` and `rate_limited` pipeline errors do,
 * `auth` only when the caller allows one auth retry, and programmer errors, plain errors,
 * `contract` and `permanent` failures never do.
 */
export function shouldRetry(err: unknown, authRetryAvailable: boolean): boolean {
  if (isProgrammerError(err) || !isPipelineError(err)) return false;
  switch (err.errorClass) {
    case 'transient':
    case 'rate_limited':
      return true;
    case 'auth':
      return authRetryAvailable;
    case 'contract':
    case 'permanent':
      return false;
  }
}

/**
 * Runs `fn` until it succeeds, a failure is not retryable, `bail` is called, the signal aborts,
 * or the retries run out — then throws `RETRIES_EXHAUSTED` with the last failure as `cause`.
 *
 * Failures that are not retryable are rethrown unchanged, so their class still tells the caller
 * what to do (quarantine, fail the job).
 */
export async function retry<T>(
  fn: (attempt: number, bail: Bail) => Promise<T>,
  policy: RetryPolicy,
): Promise<T> {
  validatePolicy(policy);
  const random = policy.random ?? Math.random;
  const sleep = policy.sleep ?? defaultSleep;
  const bail: Bail = (err) => {
    throw new BailSignal(err);
  };
  let authRetryAvailable = policy.retryAuthOnce === true;
  let transientFailures = 0;
  let rateLimitedFailures = 0;
  const now = policy.now ?? Date.now;
  let firstTransientAt: number | undefined;

  for (let attempt = 1; ; attempt++) {
    policy.signal?.throwIfAborted();
    let lastError: unknown;
    try {
      return await fn(attempt, bail);
    } catch (err) {
      if (err instanceof BailSignal) throw err.error;
      lastError = err;
    }
    if (policy.signal?.aborted) throw policy.signal.reason;
    if (!shouldRetry(lastError, authRetryAvailable)) throw lastError;
    if (isPipelineError(lastError) && lastError.errorClass === 'auth') authRetryAvailable = false;
    const rateLimited = isPipelineError(lastError) && lastError.errorClass === 'rate_limited';
    if (rateLimited) rateLimitedFailures++;
    else {
      transientFailures++;
      firstTransientAt ??= now();
    }
    const exhausted = rateLimited
      ? rateLimitedFailures > (policy.rateLimitRetries ?? policy.retries)
      : transientFailures > policy.retries &&
        now() - (firstTransientAt ?? 0) >= (policy.minRetryWindowMs ?? 0);
    if (exhausted) {
      throw new PipelineError('RETRIES_EXHAUSTED', 'operation failed on every attempt', {
        cause: lastError,
        context: { attempts: attempt, lastCode: isPipelineError(lastError) ? lastError.code : undefined },
      });
    }
    const delayMs = rateLimited
      ? rateLimitDelayMs(policy, rateLimitedFailures, lastError, random)
      : nextDelayMs(policy, transientFailures - 1, lastError, random);
    notify(policy.onRetry, { attempt, delayMs, error: lastError });
    await sleep(delayMs, policy.signal);
  }
}

function nextDelayMs(policy: RetryPolicy, retryIndex: number, err: unknown, random: () => number): number {
  const jittered = fullJitterDelayMs(policy, retryIndex, random);
  const floor = isPipelineError(err) ? (err.retryAfterMs ?? 0) : 0;
  return Math.max(jittered, floor);
}

/** The wait after the k-th 429 (1-based): the Retry-After as a floor, growing with equal jitter. */
export function rateLimitDelayMs(
  policy: Pick<RetryPolicy, 'initialMs' | 'factor' | 'maxMs' | 'rateLimitMaxMs'>,
  k: number,
  err: unknown,
  random: () => number,
): number {
  const floor = isPipelineError(err) ? (err.retryAfterMs ?? 0) : 0;
  const base = Math.max(floor, policy.initialMs);
  const cap = Math.max(policy.rateLimitMaxMs ?? policy.maxMs, floor);
  const ceiling = Math.min(cap, base * policy.factor ** (k - 1));
  return Math.max(floor, Math.floor(ceiling * (0.5 + 0.5 * random())));
}

function notify(listener: RetryPolicy['onRetry'], event: RetryEvent): void {
  if (listener === undefined) return;
  try {
    listener(event);
  } catch {
    // A listener (metrics, logging) must never change the outcome of the operation.
  }
}

function validatePolicy(policy: RetryPolicy): void {
  const ok =
    Number.isInteger(policy.retries) &&
    policy.retries >= 0 &&
    policy.initialMs >= 0 &&
    policy.factor >= 1 &&
    policy.maxMs >= policy.initialMs &&
    (policy.rateLimitRetries === undefined ||
      (policy.rateLimitRetries >= 0 &&
        (Number.isInteger(policy.rateLimitRetries) ||
          policy.rateLimitRetries === Number.POSITIVE_INFINITY))) &&
    (policy.rateLimitMaxMs === undefined || policy.rateLimitMaxMs >= 0) &&
    (policy.minRetryWindowMs === undefined || policy.minRetryWindowMs >= 0);
  if (!ok) {
    throw new PipelineError('CONFIG_INVALID', 'retry policy is invalid', {
      context: {
        retries: policy.retries,
        initialMs: policy.initialMs,
        factor: policy.factor,
        maxMs: policy.maxMs,
        rateLimitRetries: policy.rateLimitRetries,
        rateLimitMaxMs: policy.rateLimitMaxMs,
      },
    });
  }
}
