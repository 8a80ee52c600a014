import { describe, expect, it } from 'vitest';
import { parsePerfSummary } from './broker-limit.ts';
import { cpuBetween, formatGc, sampleOfMetrics, totalCpu } from './cpu.ts';
import { percentile } from './end-to-end.ts';
import { rate } from './pass-through.ts';
import { formatMicros, formatTable, sumMetric } from '@ehrflow/pipeline-tools';

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

describe('cpu per record', () => {
  it('divides the CPU spent between two samples by the records handled in between', () => {
    expect(cpuBetween({ cpuSeconds: 1.5, records: 100 }, { cpuSeconds: 3.5, records: 10_100 })).toEqual({
      cpuSeconds: 2,
      records: 10_000,
      microsPerRecord: 200,
    });
    expect(cpuBetween({ cpuSeconds: 1, records: 5 }, { cpuSeconds: 2, records: 5 })).toBeUndefined();
  });

  it('reads process CPU and a record counter from Prometheus text', () => {
    const text = [
      '# HELP ehrflow_process_cpu_seconds_total Total user and system CPU time spent in seconds.',
      '# TYPE ehrflow_process_cpu_seconds_total counter',
      'ehrflow_process_cpu_seconds_total{service="validator"} 12.5',
      'ehrflow_validator_records_total{outcome="valid",resource_type="Patient",service="validator"} 300',
      'ehrflow_validator_records_total{outcome="quarantined",resource_type="Patient",service="validator"} 7',
    ].join('\n');
    expect(sampleOfMetrics(text, 'ehrflow_validator_records_total', sumMetric)).toEqual({
      cpuSeconds: 12.5,
      records: 307,
    });
    expect(sampleOfMetrics('', 'ehrflow_validator_records_total', sumMetric)).toBeUndefined();
  });

  it('reads garbage collection from the GC histogram: pauses of every kind, scavenges by count', () => {
    const text = [
      'ehrflow_process_cpu_seconds_total{service="redactor"} 20',
      'ehrflow_redactor_records_total{outcome="clean",resource_type="Patient",service="redactor"} 4000',
      'ehrflow_nodejs_gc_duration_seconds_bucket{le="0.001",kind="minor",service="redactor"} 10',
      'ehrflow_nodejs_gc_duration_seconds_sum{kind="minor",service="redactor"} 1.25',
      'ehrflow_nodejs_gc_duration_seconds_count{kind="minor",service="redactor"} 120',
      'ehrflow_nodejs_gc_duration_seconds_sum{kind="major",service="redactor"} 0.5',
      'ehrflow_nodejs_gc_duration_seconds_count{kind="major",service="redactor"} 6',
      'ehrflow_nodejs_gc_duration_seconds_sum{kind="incremental",service="redactor"} 0.25',
      'ehrflow_nodejs_gc_duration_seconds_count{kind="incremental",service="redactor"} 9',
    ].join('\n');
    const after = sampleOfMetrics(text, 'ehrflow_redactor_records_total', sumMetric);
    expect(after).toEqual({ cpuSeconds: 20, records: 4000, gc: { seconds: 2, minor: 120 } });
    const before = { cpuSeconds: 10, records: 2000, gc: { seconds: 1, minor: 70 } };
    expect(after === undefined ? undefined : cpuBetween(before, after)).toEqual({
      cpuSeconds: 10,
      records: 2000,
      microsPerRecord: 5000,
      gc: { seconds: 1, microsPerRecord: 500, scavengesPer1000Records: 25 },
    });
    // A sample without GC figures (the pass-through's stages) gives none.
    expect(
      cpuBetween({ cpuSeconds: 1, records: 0 }, after ?? { cpuSeconds: 0, records: 0 })?.gc,
    ).toBeUndefined();
  });

  it('prints the stages with GC figures in one line, and nothing when none has them', () => {
    const gc = { seconds: 1, microsPerRecord: 12.5, scavengesPer1000Records: 3.5 };
    const line = formatGc([
      {
        stage: 'validator (valid produced)',
        cpu: { cpuSeconds: 9, records: 80_000, microsPerRecord: 112.5, gc },
      },
      { stage: 'loader (rows committed)', cpu: undefined },
    ]);
    expect(line).toContain('validator 12.5 µs (3.50)');
    expect(line).not.toContain('loader');
    expect(formatGc([{ stage: 'loader (rows committed)', cpu: undefined }])).toBeUndefined();
  });

  it('totals the stages per record through the pipeline', () => {
    const a = { cpuSeconds: 1, records: 1000, microsPerRecord: 1000 };
    const b = { cpuSeconds: 3, records: 1000, microsPerRecord: 3000 };
    expect(totalCpu([a, undefined, b], 2000)).toEqual({
      cpuSeconds: 4,
      records: 2000,
      microsPerRecord: 2000,
    });
    expect(totalCpu([undefined], 10)).toBeUndefined();
  });

  it('formats microseconds', () => {
    expect(formatMicros(12.34)).toBe('12.3 µs');
    expect(formatMicros(1234.4)).toBe('1,234 µs');
    expect(formatMicros(undefined)).toBe('-');
  });
});
