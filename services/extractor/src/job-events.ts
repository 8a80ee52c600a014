import type { JobEvent } from '@ehrflow/contracts';
import { retry, type RetryPolicy } from '@ehrflow/resilience';
import type { Logger } from '@ehrflow/logging';

/** Where job events go (`ehr.jobs`). */
export interface JobEventSink {
  send(event: JobEvent): Promise<void>;
}

/**
 * Waits between attempts at a job's final event: retried for as long as the failure is transient
 * (a broker stopped, a partition without a leader just after a restart), until the process stops.
 */
export const FINAL_EVENT_RETRY: RetryPolicy = {
  retries: Number.MAX_SAFE_INTEGER,
  rateLimitRetries: Number.POSITIVE_INFINITY,
  initialMs: 200,
  factor: 2,
  maxMs: 5_000,
};

export interface JobEventPublisher {
  /** A progress event: one try (the next one carries newer counts anyway); true when sent. */
  progress(event: JobEvent): Promise<boolean>;
  /**
   * The event of a final state (completed, partial, failed, cancelled): reconciliation reads a
   * job's counts and state from its latest event, and no later event would replace a lost one.
   * Sent again, unchanged (same `updatedAt`), until Kafka acknowledges it, a permanent failure,
   * or `stop()`; never rejects. True when Kafka has it.
   */
  final(event: JobEvent): Promise<boolean>;
  /** Ends the retries of final events still in flight (the process is stopping). */
  stop(): void;
}

export function createJobEventPublisher(options: {
  readonly sink: JobEventSink;
  readonly logger: Logger;
  readonly retryPolicy?: RetryPolicy;
}): JobEventPublisher {
  const { sink, logger } = options;
  const stopping = new AbortController();
  return {
    async progress(event) {
      try {
        await sink.send(event);
        return true;
      } catch (err) {
        logger.warn({ jobId: event.jobId, err }, 'could not publish a job event');
        return false;
      }
    },
    async final(event) {
      try {
        await retry(() => sink.send(event), {
          ...(options.retryPolicy ?? FINAL_EVENT_RETRY),
          signal: stopping.signal,
          onRetry: ({ attempt, delayMs, error }) =>
            logger.warn(
              { jobId: event.jobId, state: event.state, attempt, delayMs, err: error },
              'could not publish the final job event yet; retrying',
            ),
        });
        return true;
      } catch (err) {
        logger.error(
          { jobId: event.jobId, state: event.state, err },
          'final job event not published yet: left for the next sweep of pending final events',
        );
        return false;
      }
    },
    stop: () => stopping.abort(new Error('job event publisher stopped')),
  };
}
