import { ERROR_CATALOG, type ErrorClass, type ErrorCode } from './catalog.ts';

/**
 * PHI-free context an error may carry: identifiers of *where* it happened, never *what* a record
 * held. Values are restricted to primitives so a record object cannot be attached by accident.
 */
export type ErrorContext = Readonly<Record<string, string | number | boolean | undefined>>;

export interface PipelineErrorOptions {
  readonly cause?: unknown;
  readonly context?: ErrorContext;
  /** For `RATE_LIMITED`: how long the source asked us to wait. */
  readonly retryAfterMs?: number;
}

/**
 * The base of every error the product raises on purpose. The message must be written from codes,
 * paths, counts and hashes only; the logger scrubs it again regardless.
 */
export class PipelineError extends Error {
  readonly code: ErrorCode;
  readonly errorClass: ErrorClass;
  readonly retryable: boolean;
  readonly context: ErrorContext;
  readonly retryAfterMs: number | undefined;
  /** The status an HTTP API answers with when this error reaches a client (from the catalog). */
  readonly httpStatus: number;

  constructor(code: ErrorCode, message: string, options: PipelineErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PipelineError';
    this.code = code;
    this.errorClass = ERROR_CATALOG[code].errorClass;
    this.retryable = isRetryableClass(this.errorClass);
    this.context = options.context ?? {};
    this.retryAfterMs = options.retryAfterMs;
    this.httpStatus = ERROR_CATALOG[code].httpStatus;
  }
}

export function isRetryableClass(errorClass: ErrorClass): boolean {
  switch (errorClass) {
    case 'rate_limited':
    case 'transient':
      return true;
    case 'auth':
    case 'contract':
    case 'permanent':
      return false;
  }
}

export function isPipelineError(err: unknown): err is PipelineError {
  return err instanceof PipelineError;
}

/** Programmer errors are never retried: retrying a bug only hides it. */
export function isProgrammerError(err: unknown): boolean {
  return (
    err instanceof TypeError ||
    err instanceof RangeError ||
    err instanceof SyntaxError ||
    err instanceof ReferenceError
  );
}

/** Whether an unknown failure is worth another attempt: known retryable codes, never programmer errors. */
export function isRetryable(err: unknown): boolean {
  if (isPipelineError(err)) return err.retryable;
  return false;
}
