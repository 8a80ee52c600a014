import { STATUS_CODES } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isPipelineError } from '@ehrflow/errors';
import type { Logger } from '@ehrflow/logging';
import { redactForeignError } from './redact-error.ts';

/** The only error body this library sends: a status and a code, never a message or the request. */
export interface ErrorBody {
  readonly statusCode: number;
  readonly error: string;
  readonly code?: string;
}

// Fastify's own codes (FST_ERR_CTP_INVALID_MEDIA_TYPE) and Node's (ERR_HTTP_...) name the kind of
// failure; their messages, unlike the codes, can quote the URL, a header or the body.
const FRAMEWORK_CODE = /^(FST_|ERR_)[A-Z0-9_]{1,80}$/;

/**
 * The HTTP status an error asks for: its own `statusCode`, else its catalog status when it is a
 * PipelineError, else 500.
 */
export function statusOf(err: unknown): number {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 599) return status;
  return isPipelineError(err) ? err.httpStatus : 500;
}

/** Builds the reply body for an error: status text plus a catalog or framework code when known. */
export function errorBody(statusCode: number, err: unknown): ErrorBody {
  const error = STATUS_CODES[statusCode] ?? 'Error';
  if (isPipelineError(err)) return { statusCode, error, code: err.code };
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && FRAMEWORK_CODE.test(code)
    ? { statusCode, error, code }
    : { statusCode, error };
}

/**
 * Creates the handler used for route errors, framework errors (bad URL, bad content type) and
 * 404s. It logs the route pattern, never the raw URL: a query string may carry an identifier.
 */
export function createErrorReplier(logger: Logger) {
  return (err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const statusCode = statusOf(err);
    const fields = {
      err: redactForeignError(err),
      method: request.method,
      route: request.routeOptions.url ?? '(no route)',
      statusCode,
    };
    if (statusCode >= 500) logger.error(fields, 'http request failed');
    else logger.warn(fields, 'http request refused');
    return reply.code(statusCode).type('application/json').send(errorBody(statusCode, err));
  };
}
