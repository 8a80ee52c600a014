import { describe, expect, it } from 'vitest';
import { progressLine } from './progress.ts';

describe('progressLine', () => {
  it('shows stage counts, lag, rate and ETA', () => {
    const line = progressLine({
      elapsedMs: 10_000,
      expected: 1000,
      read: 800,
      counts: {
        raw: 800,
        valid: 700,
        quarantined: 100,
        clean: 600,
        loaded: 500,
        lag: { validator: 0, redactor: 100 },
      },
      jobsDone: 1,
      jobs: 2,
      throttled: 3,
      tokenRefreshes: 4,
    });
    expect(line).toBe(
      '[10s] jobs 1/2 | read 800/1000 raw 800 valid 700 quarantined 100 clean 600 loaded 500 | lag validator 0 redactor 100 | 429s 3 token refreshes 4 | 50/s ETA 8s',
    );
  });

  it('has no ETA before anything is loaded', () => {
    const line = progressLine({
      elapsedMs: 1000,
      expected: 10,
      read: 0,
      counts: { raw: 0, valid: 0, quarantined: 0, clean: 0, loaded: 0, lag: { validator: 0, redactor: 0 } },
      jobsDone: 0,
      jobs: 1,
      throttled: 0,
      tokenRefreshes: 0,
    });
    expect(line).toMatch(/ETA \?$/);
  });
});
