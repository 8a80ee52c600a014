import type { PipelineError } from '@ehrflow/errors';
import { afterEach, describe, expect, it } from 'vitest';
import { watchStall, type StallWatch, type Throttling } from './stall-watch.ts';

describe('watchStall', () => {
  let watch: StallWatch | undefined;
  afterEach(() => watch?.stop());

  function setUp(): { clock: { now: number }; throttling: { current: Throttling }; stalls: PipelineError[] } {
    const clock = { now: 1_000_000 };
    const throttling = { current: { total: 0, inARow: 0 } as Throttling };
    const stalls: PipelineError[] = [];
    watch = watchStall({
      timeoutMs: 60_000,
      throttling: () => throttling.current,
      onStall: (err) => stalls.push(err),
      context: { jobId: 'job-1', sourceId: 'epic' },
      // The test drives `check` itself.
      checkEveryMs: 3_600_000,
      now: () => clock.now,
    });
    return { clock, throttling, stalls };
  }

  it('fails a job that produced nothing for the timeout while the source kept answering 429', () => {
    const { clock, throttling, stalls } = setUp();
    throttling.current = { total: 400, inARow: 7 };
    clock.now += 59_999;
    expect(watch?.check()).toBeUndefined();
    clock.now += 1;
    const err = watch?.check();
    expect(err).toMatchObject({
      code: 'RATE_LIMIT_STALLED',
      errorClass: 'rate_limited',
      context: { jobId: 'job-1', sourceId: 'epic', idleMs: 60_000, timeoutMs: 60_000, throttled: 400 },
    });
    expect(stalls).toEqual([err]);
    expect(watch?.stalled()).toBe(err);
    // Once only.
    clock.now += 60_000;
    expect(watch?.check()).toBeUndefined();
    expect(stalls).toHaveLength(1);
  });

  it('never fails on the number of 429s while records keep coming', () => {
    const { clock, throttling, stalls } = setUp();
    for (let minute = 0; minute < 30; minute++) {
      throttling.current = { total: throttling.current.total + 1_000, inARow: 50 };
      clock.now += 50_000;
      expect(watch?.check()).toBeUndefined();
      watch?.progress();
    }
    expect(stalls).toEqual([]);
  });

  it('does not stall a job that waits without being throttled (an export being prepared)', () => {
    const { clock, throttling } = setUp();
    throttling.current = { total: 3, inARow: 3 };
    watch?.progress(); // records came after those 429s
    clock.now += 3_600_000;
    expect(watch?.check()).toBeUndefined(); // no 429 since the last record
    throttling.current = { total: 5, inARow: 0 }; // throttled, but the latest answer was usable
    expect(watch?.check()).toBeUndefined();
    throttling.current = { total: 6, inARow: 1 };
    expect(watch?.check()).toMatchObject({ code: 'RATE_LIMIT_STALLED', context: { throttled: 3 } });
  });
});
