import { describe, expect, it } from 'vitest';
import { parsePerfSummary } from './broker-limit.ts';
import { percentile } from './end-to-end.ts';
import { rate } from './pass-through.ts';
import { formatTable } from '@ehrflow/pipeline-tools';

describe('percentile', () => {
  it('takes the nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 0.5)).toBe(50);
    expect(percentile(values, 0.99)).toBe(99);
    expect(percentile([7], 0.99)).toBe(7);
    expect(percentile([], 0.5)).toBe(0);
  });
});

describe('rate', () => {
  it('is records per second, 0 for an empty span', () => {
    expect(rate(5000, 2000)).toBe(2500);
    expect(rate(10, 0)).toBe(0);
  });
});

describe('parsePerfSummary', () => {
  it('reads the final line of ProducerPerformance', () => {
    const out = [
      '75001 records sent, 15000.2 records/sec (21.46 MB/sec), 900.1 ms avg latency, 1500.0 ms max latency.',
      '100000 records sent, 15773.5 records/sec (22.56 MB/sec), 812.35 ms avg latency, 1601.00 ms max latency, 788 ms 50th, 1400 ms 95th, 1550 ms 99th, 1600 ms 99.9th.',
    ].join('\n');
    expect(parsePerfSummary(out)).toEqual({
      records: 100000,
      recordsPerSecond: 15773.5,
      mbPerSecond: 22.56,
      avgLatencyMs: 812.35,
      p50LatencyMs: 788,
      p99LatencyMs: 1550,
    });
    expect(parsePerfSummary('no summary')).toBeUndefined();
  });
});

describe('formatTable', () => {
  it('pads columns', () => {
    expect(
      formatTable([
        ['a', 'bb'],
        ['ccc', '1'],
      ]),
    ).toBe('a    bb\n---  --\nccc   1');
  });
});
