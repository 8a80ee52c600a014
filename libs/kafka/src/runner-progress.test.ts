import { describe, expect, it } from 'vitest';
import { RunnerProgress } from './runner-progress.ts';

describe('RunnerProgress', () => {
  it('never lets a partition move backwards, and sums lag over owned partitions only', () => {
    const p = new RunnerProgress();
    p.markCommitted({ topic: 't', partition: 0, offset: '10' });
    expect(p.advances({ topic: 't', partition: 0, offset: '10' })).toBe(false);
    expect(p.advances({ topic: 't', partition: 0, offset: '11' })).toBe(true);
    expect(p.advances({ topic: 't', partition: 1, offset: '0' })).toBe(true);

    p.setLag('t', 0, '100', '10');
    p.setLag('t', 1, '50', '60');
    expect(p.snapshot().lag).toBe(90);
    expect(p.keepOnly({ t: [1] })).toBe(1);
    expect(p.snapshot().lag).toBe(0);
  });
});
