import { describe, expect, it } from 'vitest';
import { PipelineError } from '@ehrflow/errors';
import { declareMetrics, metric } from './metric-table.ts';
import { createMetrics } from './metrics.ts';

describe('declareMetrics', () => {
  it('registers each metric of the table under its key, by kind, with its labels and buckets', async () => {
    const metrics = createMetrics('loader');
    const declared = declareMetrics(metrics, {
      records: metric.counter('records_total', 'Records by outcome', 'outcome', 'resource_type'),
      pending: metric.gauge('pending_envelopes', 'Envelopes waiting'),
      seconds: metric.histogram('batch_seconds', 'Batch duration', [0.5, 2], 'resource_type'),
    });
    declared.records.inc({ outcome: 'loaded', resource_type: 'Patient' }, 2);
    // Label names are typed from the table: one it does not declare does not compile.
    // @ts-expect-error `source` is no label of `records`
    const undeclared = () => declared.records.inc({ source: 'site-a' });
    expect(typeof undeclared).toBe('function');
    declared.pending.set({}, 7);
    declared.seconds.observe({ resource_type: 'Patient' }, 1);

    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^# TYPE ehrflow_records_total counter$/m);
    expect(text).toMatch(
      /^ehrflow_records_total\{outcome="loaded",resource_type="Patient",service="loader"\} 2$/m,
    );
    expect(text).toMatch(/^ehrflow_pending_envelopes\{service="loader"\} 7$/m);
    expect(text).toMatch(
      /^ehrflow_batch_seconds_bucket\{(?=.*le="0.5")(?=.*resource_type="Patient").*\} 0$/m,
    );
    expect(text).toMatch(/^ehrflow_batch_seconds_bucket\{(?=.*le="2")(?=.*resource_type="Patient").*\} 1$/m);
  });

  it('refuses a PHI label name of the table as createMetrics does', () => {
    const metrics = createMetrics('loader');
    expect(() => declareMetrics(metrics, { bad: metric.counter('bad_total', 'Bad', 'patient_id') })).toThrow(
      PipelineError,
    );
  });
});
