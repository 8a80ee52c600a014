import type { JobEvent } from '@ehrflow/contracts';
import { PipelineError } from '@ehrflow/errors';
import { createLogger } from '@ehrflow/logging';
import { TEST_RETRY_POLICY } from '@ehrflow/resilience';
import { describe, expect, it } from 'vitest';
import { createJobEventPublisher, type JobEventSink } from './job-events.ts';

const logger = createLogger({ name: 'job-events-test', level: 'silent' });

function event(state: JobEvent['state'], updatedAt: number): JobEvent {
  return {
    jobId: 'j-1',
    sourceId: 's-1',
    kind: 'backfill',
    state,
    reason: null,
    resourceTypes: ['Patient'],
    since: null,
    counts: { read: 143, produced: 143, deleted: 0, errors: 0, duplicates: 0 },
    errorEntries: null,
    parentJobId: null,
    startedAt: 1,
    updatedAt,
    checkpoint: null,
  } as unknown as JobEvent;
}

/** A sink that fails its first `failures` sends the way a producer does while the broker is away. */
function flakySink(failures: number): JobEventSink & { readonly sent: JobEvent[]; attempts: number } {
  const sink = {
    sent: [] as JobEvent[],
    attempts: 0,
    send(e: JobEvent): Promise<void> {
      sink.attempts++;
      if (sink.attempts <= failures)
        return Promise.reject(new PipelineError('KAFKA_UNAVAILABLE', 'Kafka unavailable during send'));
      sink.sent.push(e);
      return Promise.resolve();
    },
  };
  return sink;
}

const fast = { ...TEST_RETRY_POLICY, retries: Number.MAX_SAFE_INTEGER };

describe('job event publisher', () => {
  it('sends a final event again, unchanged, until Kafka takes it', async () => {
    // A job that completed just as the broker came back: the first sends met no partition leader.
    const sink = flakySink(6);
    const publisher = createJobEventPublisher({ sink, logger, retryPolicy: fast });
    expect(await publisher.final(event('completed', 1_000))).toBe(true);
    expect(sink.attempts).toBe(7);
    expect(sink.sent).toEqual([event('completed', 1_000)]);
  });

  it('gives a progress event one try: the next one carries newer counts', async () => {
    const sink = flakySink(1);
    const publisher = createJobEventPublisher({ sink, logger, retryPolicy: fast });
    expect(await publisher.progress(event('running', 500))).toBe(false);
    expect(sink.attempts).toBe(1);
    expect(sink.sent).toEqual([]);
  });

  it('stops retrying when the process stops, and does not retry a permanent refusal', async () => {
    const down = flakySink(Number.MAX_SAFE_INTEGER);
    const publisher = createJobEventPublisher({
      sink: down,
      logger,
      retryPolicy: { ...fast, initialMs: 20, maxMs: 20 },
    });
    const pending = publisher.final(event('completed', 1_000));
    await new Promise((resolve) => setTimeout(resolve, 50));
    publisher.stop();
    await expect(pending).resolves.toBe(false);
    expect(down.sent).toEqual([]);

    let attempts = 0;
    const refusing = createJobEventPublisher({
      sink: {
        send: () => {
          attempts++;
          return Promise.reject(new PipelineError('KAFKA_REJECTED', 'Kafka refused send'));
        },
      },
      logger,
      retryPolicy: fast,
    });
    expect(await refusing.final(event('failed', 1_000))).toBe(false);
    expect(attempts).toBe(1);
  });
});
