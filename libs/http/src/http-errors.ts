import { PipelineError, TRANSIENT_NETWORK_CODES, type ErrorContext } from '@ehrflow/errors';

// Network failures worth another attempt: the socket and DNS failures every client retries, and
// undici's connect/headers/body timeouts and socket errors.
const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  ...TRANSIENT_NETWORK_CODES,
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

/** The error code of a network failure (on the error or its cause), if it has one. */
export function networkErrorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 3; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/**
 * Sorts a thrown network failure: a known transient code becomes `HTTP_TRANSIENT` (with the
 * failure as cause); anything else (an abort, a bug, a pipeline error) is returned unchanged.
 */
export function fromNetworkError(err: unknown, context: ErrorContext): unknown {
  if (err instanceof PipelineError) return err;
  const code = networkErrorCode(err);
  if (code === undefined || !TRANSIENT_CODES.has(code)) return err;
  return new PipelineError('HTTP_TRANSIENT', 'network failure talking to a source', {
    cause: err,
    context: { ...context, errorCode: code },
  });
}

/**
 * The error for a response status the caller cannot use: 401 → `AUTH_EXPIRED`, 429 →
 * `RATE_LIMITED`, 5xx → `HTTP_TRANSIENT`, any other 4xx → `HTTP_PERMANENT`. `retryAfterMs` rides
 * along on 429 and 5xx (a 503 may carry Retry-After too).
 */
export function fromStatus(status: number, context: ErrorContext, retryAfterMs?: number): PipelineError {
  const ctx = { ...context, status };
  if (status === 401)
    return new PipelineError('AUTH_EXPIRED', 'the source refused the access token', { context: ctx });
  if (status === 429)
    return new PipelineError('RATE_LIMITED', 'the source asked us to slow down', {
      context: ctx,
      retryAfterMs,
    });
  if (status >= 500)
    return new PipelineError('HTTP_TRANSIENT', 'the source failed with a server error', {
      context: ctx,
      retryAfterMs,
    });
  return new PipelineError('HTTP_PERMANENT', 'the source refused the request', { context: ctx });
}

/** Whether a status is an answer the caller handles itself (2xx and 3xx). */
export function isUsableStatus(status: number): boolean {
  return status >= 200 && status < 400;
}
