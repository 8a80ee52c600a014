/**
 * Resilience primitives every client shares: retry with backoff and full jitter (one abort
 * behaviour: an aborted signal ends the wait and rejects with `signal.reason`), sleep, and a
 * concurrency semaphore.
 */
export { createSemaphore, type Release, type Semaphore, type SemaphoreOptions } from './concurrency.ts';
export {
  DEFAULT_RETRY_POLICY,
  TEST_RETRY_POLICY,
  backoffCeilingMs,
  fullJitterDelayMs,
  rateLimitDelayMs,
  retry,
  shouldRetry,
  type Bail,
  type RetryEvent,
  type RetryPolicy,
} from './retry.ts';
export { sleep, type Sleep } from './sleep.ts';
export { createPoller, type Poller, type PollerOptions } from './poller.ts';
