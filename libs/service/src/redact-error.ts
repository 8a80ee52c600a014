import { PipelineError, isPipelineError } from '@ehrflow/errors';

const MAX_CAUSE_DEPTH = 4;
const CODE_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/**
 * Prepares an error that reached the process edge (an uncaught exception, a failed drain, a route
 * handler's throw) for the logger. A `PipelineError` keeps its message, which is written from ids,
 * paths and counts by contract. Any other error keeps its type, `code` and stack frames but loses
 * its message: foreign messages quote their input (V8's `JSON.parse` errors include a snippet of
 * the text, drivers echo the offending parameter), and the scrubber only catches identifier-shaped
 * text, not a name. The result is logged as `err`, so the logger's serializer still applies.
 */
export function redactForeignError(err: unknown, depth = 0): Error {
  const cause = (err as { cause?: unknown } | null)?.cause;
  const redactedCause =
    cause !== undefined && depth < MAX_CAUSE_DEPTH ? redactForeignError(cause, depth + 1) : undefined;
  if (isPipelineError(err)) {
    if (redactedCause === undefined) return err;
    const copy = new PipelineError(err.code, err.message, {
      context: err.context,
      cause: redactedCause,
      ...(err.retryAfterMs === undefined ? {} : { retryAfterMs: err.retryAfterMs }),
    });
    copy.stack = err.stack;
    return keepTypeName(copy, err);
  }
  if (!(err instanceof Error)) {
    return new Error(`a non-error value was thrown (${err === null ? 'null' : typeof err}; omitted)`);
  }
  const copy = new Error(
    '[message omitted: not a PipelineError]',
    redactedCause === undefined ? undefined : { cause: redactedCause },
  );
  const type = typeName(err);
  keepTypeName(copy, err);
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && CODE_PATTERN.test(code)) Object.assign(copy, { code });
  const frames = (err.stack ?? '').split('\n').filter((line) => /^\s+at\s/.test(line));
  copy.stack = [`${type}: ${copy.message}`, ...frames].join('\n');
  return copy;
}

function typeName(err: Error): string {
  return err.constructor.name || 'Error';
}

/** The serializer names an error after its constructor: make the copy answer with the original's. */
function keepTypeName(copy: Error, original: Error): Error {
  const type = typeName(original);
  Object.defineProperty(copy, 'constructor', {
    value: Object.defineProperty(function () {}, 'name', { value: type }),
  });
  copy.name = original.name;
  return copy;
}
