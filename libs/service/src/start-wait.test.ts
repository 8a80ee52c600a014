import { describe, expect, it } from 'vitest';
import { PipelineError } from '@ehrflow/errors';
import { waitAtStart } from './start-wait.ts';
import { capturingLogger } from './testing/capturing-logger.ts';

/** A clock the fake sleep advances, so the wait window is spent without waiting. */
function fakeTime() {
  let now = 0;
  return {
    now: () => now,
    sleep: (ms: number) => {
      now += ms;
      return Promise.resolve();
    },
  };
}

describe('waitAtStart', () => {
  it('retries a dependency that is away until it answers, one warning per wait', async () => {
    const { logger, lines } = capturingLogger('start-wait-test');
    let calls = 0;
    const value = await waitAtStart(
      'registry',
      () => {
        calls++;
        if (calls < 6) return Promise.reject(new PipelineError('REGISTRY_UNAVAILABLE', 'registry away'));
        return Promise.resolve('schema');
      },
      { logger, windowMs: 60_000, sleep: fakeTime().sleep },
    );
    expect(value).toBe('schema');
    expect(calls).toBe(6);
    const waits = lines.filter((l) => l.msg === 'dependency unavailable at start; waiting');
    expect(waits).toHaveLength(5);
    expect(waits[0]).toMatchObject({ dependency: 'registry', code: 'REGISTRY_UNAVAILABLE', attempt: 1 });
  });

  it('ends at once on a permanent failure', async () => {
    const { logger, lines } = capturingLogger('start-wait-test');
    let calls = 0;
    const err = await waitAtStart(
      'registry',
      () => {
        calls++;
        return Promise.reject(new PipelineError('SCHEMA_NOT_REGISTERED', 'subject missing'));
      },
      { logger, windowMs: 60_000, sleep: fakeTime().sleep },
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SCHEMA_NOT_REGISTERED' });
    expect(calls).toBe(1);
    expect(lines).toHaveLength(0);
  });
});
