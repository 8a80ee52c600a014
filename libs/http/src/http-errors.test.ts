import { PipelineError } from '@ehrflow/errors';
import { describe, expect, it } from 'vitest';
import { fromNetworkError, fromStatus, isUsableStatus, networkErrorCode } from './http-errors.ts';

const ctx = { method: 'GET', route: '/Patient' };

function coded(code: string): Error {
  return Object.assign(new Error('socket trouble'), { code });
}

describe('fromStatus', () => {
  it.each([
    [401, 'AUTH_EXPIRED'],
    [429, 'RATE_LIMITED'],
    [500, 'HTTP_TRANSIENT'],
    [503, 'HTTP_TRANSIENT'],
    [400, 'HTTP_PERMANENT'],
    [404, 'HTTP_PERMANENT'],
  ] as const)('maps %i to %s', (status, code) => {
    const err = fromStatus(status, ctx, 1_000);
    expect(err.code).toBe(code);
    expect(err.context).toMatchObject({ ...ctx, status });
  });

  it('carries retryAfterMs on 429', () => {
    expect(fromStatus(429, ctx, 2_000).retryAfterMs).toBe(2_000);
  });

  it('treats 2xx and 3xx as usable', () => {
    expect([200, 202, 206, 304, 401, 500].map(isUsableStatus)).toEqual([
      true,
      true,
      true,
      true,
      false,
      false,
    ]);
  });
});

describe('fromNetworkError', () => {
  it.each([
    'ECONNRESET',
    'UND_ERR_HEADERS_TIMEOUT',
    'UND_ERR_BODY_TIMEOUT',
    'UND_ERR_SOCKET',
    'UND_ERR_CONNECT_TIMEOUT',
  ])('wraps %s as HTTP_TRANSIENT', (code) => {
    const cause = coded(code);
    const err = fromNetworkError(cause, ctx) as PipelineError;
    expect(err.code).toBe('HTTP_TRANSIENT');
    expect(err.cause).toBe(cause);
    expect(err.context).toMatchObject({ ...ctx, errorCode: code });
  });

  it('finds the code on the cause', () => {
    const err = new Error('fetch failed', { cause: coded('ECONNREFUSED') });
    expect(networkErrorCode(err)).toBe('ECONNREFUSED');
  });

  it('leaves aborts, bugs and pipeline errors alone', () => {
    const abort = coded('UND_ERR_ABORTED');
    const bug = new TypeError('bug');
    const known = new PipelineError('HTTP_PERMANENT', 'x');
    expect(fromNetworkError(abort, ctx)).toBe(abort);
    expect(fromNetworkError(bug, ctx)).toBe(bug);
    expect(fromNetworkError(known, ctx)).toBe(known);
  });
});
