import { describe, expect, it } from 'vitest';
import { ERROR_CATALOG, PipelineError, isProgrammerError, isRetryable } from './index.ts';

describe('error catalog', () => {
  it('has unique, upper-snake codes, each documented', () => {
    const codes = Object.keys(ERROR_CATALOG);
    expect(new Set(codes).size).toBe(codes.length);
    for (const [code, entry] of Object.entries(ERROR_CATALOG)) {
      expect(code).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(entry.doc.length, `doc for ${code}`).toBeGreaterThan(10);
    }
  });

  it('derives retryability from the class of failure', () => {
    expect(new PipelineError('HTTP_TRANSIENT', 'x').retryable).toBe(true);
    expect(new PipelineError('RATE_LIMITED', 'x', { retryAfterMs: 5 }).retryAfterMs).toBe(5);
    expect(new PipelineError('AUTH_REJECTED', 'x').retryable).toBe(false);
    expect(new PipelineError('MISSING_REQUIRED', 'x').errorClass).toBe('contract');
    expect(isRetryable(new PipelineError('KAFKA_UNAVAILABLE', 'x'))).toBe(true);
    expect(isRetryable(new Error('plain'))).toBe(false);
  });

  it('never treats programmer errors as retryable', () => {
    expect(isProgrammerError(new TypeError('x'))).toBe(true);
    expect(isRetryable(new TypeError('x'))).toBe(false);
  });

  it('keeps the cause chain', () => {
    const cause = new Error('inner');
    expect(new PipelineError('PARSE_ERROR', 'outer', { cause }).cause).toBe(cause);
  });
});
