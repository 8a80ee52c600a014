import { describe, expect, it } from 'vitest';
import { mergeFaults, NO_FAULTS } from './faults.ts';
import { createLinePacer, ndjsonBody } from './ndjson-body.ts';

/** A clock that only moves when the pacer waits. */
function fakeTime(): { now: () => number; wait: (ms: number) => Promise<void>; waits: number[] } {
  let t = 1_000;
  const waits: number[] = [];
  return {
    now: () => t,
    wait: (ms) => {
      waits.push(ms);
      t += ms;
      return Promise.resolve();
    },
    waits,
  };
}

describe('servedLinesPerSecond (a slow link)', () => {
  it('releases chunks so that lines go out at the set rate across callers', async () => {
    const time = fakeTime();
    const pace = createLinePacer(() => 500, time.now, time.wait);
    await pace(100); // first chunk at once
    await pace(100); // 100 lines at 500/s: 200 ms after the first
    await pace(50);
    expect(time.waits).toEqual([200, 200]);
    expect(time.now()).toBe(1_400);
  });

  it('does not wait at rate 0, and does not bank unused time', async () => {
    const time = fakeTime();
    let rate = 0;
    const pace = createLinePacer(() => rate, time.now, time.wait);
    await pace(10_000);
    expect(time.waits).toEqual([]);
    rate = 1_000;
    await pace(100);
    await time.wait(5_000); // idle: the next chunk goes at once, then pacing resumes
    time.waits.length = 0;
    await pace(100);
    await pace(100);
    expect(time.waits).toEqual([100]);
  });

  it('paces every chunk of a body by the lines it carries', async () => {
    const lines = Array.from(
      { length: 200 },
      (_, i) => `${JSON.stringify({ id: i, pad: 'x'.repeat(1_000) })}\n`,
    );
    const paced: number[] = [];
    const chunks: Buffer[] = [];
    for await (const chunk of ndjsonBody(lines, {
      lineCount: lines.length,
      fault: undefined,
      pace: (n) => {
        paced.push(n);
        return Promise.resolve();
      },
    }))
      chunks.push(chunk);
    expect(paced.length).toBe(chunks.length);
    expect(paced.reduce((a, b) => a + b, 0)).toBe(200);
    expect(Buffer.concat(chunks).toString()).toBe(lines.join(''));
  });

  it('is a fault like the others: validated, and settable at any time', () => {
    expect(mergeFaults(NO_FAULTS, { servedLinesPerSecond: 250 }).servedLinesPerSecond).toBe(250);
    expect(() => mergeFaults(NO_FAULTS, { servedLinesPerSecond: -1 })).toThrow(/servedLinesPerSecond/);
  });
});
