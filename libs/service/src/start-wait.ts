import { isPipelineError } from '@ehrflow/errors';
import type { Logger } from '@ehrflow/logging';
import { retry, type Sleep } from '@ehrflow/resilience';

/**
 * How long a service waits at start for a dependency that does not answer (PostgreSQL, Redis, the
 * registry) before it gives up: below the Kubernetes manifests' startup probe (60 × 2 s), so a pod
 * is restarted only after this wait, and longer than the outages the fault suite injects (the
 * registry away 60 s, or PostgreSQL restarting under it).
 */
export const START_WAIT_MS = 100_000;

export interface StartWaitOptions {
  readonly logger: Logger;
  /** How long transient failures are retried; `START_WAIT_MS` by default. */
  readonly windowMs?: number;
  /** Injectable for tests. */
  readonly sleep?: Sleep;
}

/**
 * Runs a start-up step (connect, migrate, check subjects) until it succeeds, retrying transient
 * failures — a dependency away — for `windowMs` with capped backoff and a warning per attempt, so a
 * service restarted during an outage starts once it is over instead of exiting into a restart
 * loop. Permanent failures end it at once. Rethrows the last failure itself, not a wrapper, so
 * start-up reports what was missing.
 */
export async function waitAtStart<T>(
  dependency: string,
  step: () => Promise<T>,
  options: StartWaitOptions,
): Promise<T> {
  try {
    return await retry(() => step(), {
      retries: 3,
      initialMs: 500,
      factor: 2,
      maxMs: 5_000,
      minRetryWindowMs: options.windowMs ?? START_WAIT_MS,
      ...(options.sleep === undefined ? {} : { sleep: options.sleep }),
      onRetry: ({ attempt, delayMs, error }) =>
        options.logger.warn(
          { dependency, attempt, delayMs, code: isPipelineError(error) ? error.code : undefined },
          'dependency unavailable at start; waiting',
        ),
    });
  } catch (err) {
    if (isPipelineError(err) && err.code === 'RETRIES_EXHAUSTED' && err.cause instanceof Error)
      throw err.cause;
    throw err;
  }
}
