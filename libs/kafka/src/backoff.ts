/**
 * Back-off between attempts of a failed batch. Exponential with full jitter, so replicas that
 * failed together do not retry together.
 *
 * Kept local: the shared retry module lives in `@ehrflow/http`, which this lib must not depend on
 * (kafka sits below http in the dependency order); move both into one lib if a third user appears.
 * @see https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */

export interface BackoffPolicy {
  /** Upper bound of the first wait. */
  readonly initialMs: number;
  /** Upper bound of any wait. */
  readonly maxMs: number;
  /** Attempts in total (first try included) before giving up; `Infinity` never gives up. */
  readonly maxAttempts: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 200, maxMs: 30_000, maxAttempts: 10 };

/** Wait before attempt `attempt + 1`, after `attempt` (>= 1) failures. `random` is injectable for tests. */
export function backoffDelay(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/** Sleeps `ms`, waking early (without error) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
