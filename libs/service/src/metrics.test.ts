import { describe, expect, it } from 'vitest';
import { PipelineError } from '@ehrflow/errors';
import { createMetrics } from './metrics.ts';

const CANARY = 'Jane Canary-Smith 1980-02-03';

function refusal(fn: () => unknown): PipelineError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PipelineError) return err;
    throw err;
  }
  throw new Error('expected a METRIC_LABEL_REFUSED error');
}

describe('createMetrics', () => {
  it('exposes a registered counter, prefixed, with the service label', async () => {
    const metrics = createMetrics('validator');
    const records = metrics.counter('records_total', 'Records validated.', ['topic', 'outcome']);
    records.inc({ topic: 'ehr.raw', outcome: 'valid' });
    records.inc({ topic: 'ehr.raw', outcome: 'valid' }, 2);

    const text = await metrics.registry.metrics();
    expect(text).toContain('# TYPE ehrflow_records_total counter');
    expect(text).toMatch(
      /^ehrflow_records_total\{topic="ehr\.raw",outcome="valid",service="validator"\} 3$/m,
    );
  });

  it('collects default process metrics under the ehrflow_ prefix with the service label', async () => {
    const text = await createMetrics('loader').registry.metrics();
    expect(text).toMatch(/^ehrflow_process_cpu_user_seconds_total\{service="loader"\} /m);
    expect(text).toMatch(/^ehrflow_nodejs_eventloop_lag_seconds\{service="loader"\} /m);
  });

  it('does not double the prefix and supports gauges and histograms', async () => {
    const metrics = createMetrics('redactor');
    const lag = metrics.gauge('ehrflow_consumer_lag', 'Lag.', ['partition']);
    lag.set({ partition: 3 }, 42);
    lag.dec({ partition: 3 }, 2);
    const latency = metrics.histogram('batch_seconds', 'Batch time.', ['stage'], [0.1, 1]);
    latency.observe({ stage: 'load' }, 0.5);
    const end = latency.startTimer({ stage: 'load' });
    expect(end()).toBeGreaterThanOrEqual(0);

    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^ehrflow_consumer_lag\{partition="3",service="redactor"\} 40$/m);
    expect(text).toMatch(/^ehrflow_batch_seconds_count\{service="redactor",stage="load"\} 2$/m);
    expect(text).not.toContain('ehrflow_ehrflow_');
  });

  it.each(['patient_id', 'mrn', 'name', 'given_name', 'birth_date', 'payload', 'service', 'Bad-Label'])(
    'refuses the label name %s',
    (label) => {
      const metrics = createMetrics('svc');
      const err = refusal(() => metrics.counter('x_total', 'x', [label]));
      expect(err.code).toBe('METRIC_LABEL_REFUSED');
      expect(err.message).toContain('ehrflow_x_total');
    },
  );

  it('refuses label values that fail the safe pattern, without echoing them', async () => {
    const metrics = createMetrics('svc');
    const errors = metrics.counter('errors_total', 'Errors.', ['reason']);
    for (const bad of [CANARY, 'x'.repeat(65), '{"a":1}', 'a\nb']) {
      const err = refusal(() => errors.inc({ reason: bad }));
      expect(err.code).toBe('METRIC_LABEL_REFUSED');
      expect(err.message + JSON.stringify(err.context)).not.toContain(bad);
    }
    errors.inc({ reason: 'x'.repeat(64) });
    errors.inc({ reason: 'MISSING_REQUIRED' });

    const text = await metrics.registry.metrics();
    expect(text).not.toContain('Canary');
    expect(text).toMatch(/^ehrflow_errors_total\{reason="MISSING_REQUIRED",service="svc"\} 1$/m);
  });

  it('checks label values given to histogram timers and gauges too', () => {
    const metrics = createMetrics('svc');
    const timer = metrics.histogram('t_seconds', 't', ['stage']).startTimer({ stage: 'ok' });
    expect(refusal(() => timer({ stage: CANARY })).code).toBe('METRIC_LABEL_REFUSED');
    expect(refusal(() => metrics.gauge('g', 'g', ['stage']).set({ stage: CANARY }, 1)).code).toBe(
      'METRIC_LABEL_REFUSED',
    );
  });

  it('refuses a service name that is not a safe label value', () => {
    expect(refusal(() => createMetrics(CANARY)).code).toBe('METRIC_LABEL_REFUSED');
  });
});
