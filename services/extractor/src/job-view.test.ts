import { PipelineError } from '@ehrflow/errors';
import { describe, expect, it } from 'vitest';
import { failureCode, failureReason } from './job-view.ts';

const exhausted = (code: ConstructorParameters<typeof PipelineError>[0]) =>
  new PipelineError('RETRIES_EXHAUSTED', 'gave up', { cause: new PipelineError(code, 'last attempt') });

describe('failure reasons', () => {
  it('names every known case, never internal', () => {
    const cases: [unknown, string][] = [
      [new PipelineError('EXPORT_EXPIRED', 'x'), 'export_expired'],
      [new PipelineError('MANIFEST_COUNT_MISMATCH', 'x'), 'manifest_mismatch'],
      [new PipelineError('JOB_UNRECONCILED', 'x'), 'unreconciled'],
      [new PipelineError('HTTP_PERMANENT', 'x'), 'source_refused'],
      [new PipelineError('KAFKA_REJECTED', 'x'), 'sink_refused'],
      [new PipelineError('DATABASE_REJECTED', 'x'), 'sink_refused'],
      [new PipelineError('AUTH_REJECTED', 'x'), 'auth'],
      [exhausted('RATE_LIMITED'), 'rate_limited'],
      [exhausted('HTTP_TRANSIENT'), 'network'],
      [exhausted('KAFKA_UNAVAILABLE'), 'network'],
      [new PipelineError('TOO_LARGE', 'x'), 'contract'],
    ];
    for (const [err, reason] of cases)
      expect(failureReason(err), String((err as PipelineError).code)).toBe(reason);
  });

  it('keeps internal for what no case explains, and names the code of the last attempt', () => {
    expect(failureReason(new TypeError('bug'))).toBe('internal');
    expect(failureReason(new PipelineError('JOB_FAILED', 'x'))).toBe('internal');
    expect(failureCode(exhausted('HTTP_TRANSIENT'))).toBe('HTTP_TRANSIENT');
    expect(failureCode(new Error('plain'))).toBe('INTERNAL');
  });
});
