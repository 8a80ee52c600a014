import { scrub as defaultScrub } from '@ehrflow/scrubber';

/**
 * Context keys of `PipelineError.context` (or any error's `context`) that reach the log. They
 * name where a failure happened, never what a record held. Values are scrubbed as well; keys not
 * listed are counted in `contextOmitted` so a missing entry is visible without leaking anything.
 */
// prettier-ignore -- a flat list is easier to review than one key per line
export const SAFE_CONTEXT_KEYS: ReadonlySet<string> = new Set([
  'topic',
  'route',
  'errorCode',
  'resumeOffset',
  'resumeLineNo',
  'lineNo',
  'byteOffset',
  'oauthError',
  'lastCode',
  'invalid',
  'reason',
  'position',
  'schemaVersion',
  'partition',
  'offset',
  'recordId',
  'jobId',
  'sourceId',
  'resourceType',
  'kind',
  'format',
  'field',
  'fieldPath',
  'path',
  'subject',
  'schemaId',
  'version',
  'kid',
  'keyId',
  'entry',
  'variable',
  'status',
  'statusCode',
  'method',
  'attempt',
  'attempts',
  'retryAfterMs',
  'timeoutMs',
  'elapsedMs',
  'count',
  'limit',
  'sizeBytes',
  'maxBytes',
  'expected',
  'rule',
  'reason',
  'policy',
  'deid',
  'stage',
  'operation',
  'service',
  'consumerGroup',
  'controlId',
  'messageType',
  'segmentId',
  'sourceLocator',
  'page',
  'line',
  'maxDays',
]);

/** What an error becomes in a log line. Nothing else of the error is ever copied. */
export interface SerializedError {
  readonly type: string;
  readonly message: string;
  readonly code?: string | number;
  readonly errorClass?: string;
  readonly retryable?: boolean;
  readonly retryAfterMs?: number;
  readonly context?: Readonly<Record<string, string | number | boolean>>;
  readonly contextOmitted?: number;
  readonly stack?: string;
  readonly cause?: SerializedError;
  /** First entries of an AggregateError. */
  readonly errors?: readonly SerializedError[];
}

const MAX_CHAIN_DEPTH = 5;
const MAX_FRAMES = 15;
const MAX_AGGREGATED = 5;
const MAX_MESSAGE_LENGTH = 2000;
const CODE_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const ERROR_CLASSES = new Set(['auth', 'rate_limited', 'transient', 'contract', 'permanent']);

/**
 * PHI-safe error serializer: the constructor name, `code`, `errorClass`, `retryable`, the scrubbed
 * message, allow-listed context keys (scrubbed), the stack frames (scrubbed, rebuilt under the
 * scrubbed message instead of the original first line) and the `cause` chain, recursively to a
 * bounded depth. Unlike pino's standard serializer it never copies an error's other enumerable
 * properties, where a record value attached "for debugging" would otherwise end up in the log.
 *
 * @param scrub The scrubber for text (a logger passes its own, with its sensitive values).
 */
export function serializeError(
  err: unknown,
  scrub: (text: string) => string = defaultScrub,
): SerializedError {
  return serialize(err, scrub, 0, new Set());
}

function serialize(
  err: unknown,
  scrub: (text: string) => string,
  depth: number,
  seen: Set<object>,
): SerializedError {
  if (typeof err !== 'object' || err === null) {
    return typeof err === 'string'
      ? { type: 'string', message: limit(scrub(err)) }
      : { type: typeof err, message: '[non-error value omitted]' };
  }
  seen.add(err);
  const type = scrub(constructorName(err));
  const rawMessage = read(err, 'message');
  if (!(err instanceof Error) && typeof rawMessage !== 'string') {
    return { type, message: '[non-error value omitted]' };
  }
  const message = limit(scrub(typeof rawMessage === 'string' ? rawMessage : ''));
  const out: Record<string, unknown> = { type, message };

  const code = read(err, 'code');
  if (
    (typeof code === 'string' && CODE_PATTERN.test(code)) ||
    (typeof code === 'number' && Number.isFinite(code))
  ) {
    out.code = typeof code === 'string' ? scrub(code) : code;
  }
  const errorClass = read(err, 'errorClass');
  if (typeof errorClass === 'string' && ERROR_CLASSES.has(errorClass)) out.errorClass = errorClass;
  const retryable = read(err, 'retryable');
  if (typeof retryable === 'boolean') out.retryable = retryable;
  const retryAfterMs = read(err, 'retryAfterMs');
  if (typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs)) out.retryAfterMs = retryAfterMs;

  Object.assign(out, safeContext(read(err, 'context'), scrub));

  const stack = read(err, 'stack');
  if (typeof stack === 'string') out.stack = rebuildStack(type, message, stack, scrub);

  const cause = read(err, 'cause');
  if (cause !== undefined) {
    out.cause = chained(cause, scrub, depth, seen);
  }
  const errors = read(err, 'errors');
  if (err instanceof AggregateError && Array.isArray(errors)) {
    out.errors = errors.slice(0, MAX_AGGREGATED).map((inner) => chained(inner, scrub, depth, seen));
  }
  return out as unknown as SerializedError;
}

function chained(
  inner: unknown,
  scrub: (text: string) => string,
  depth: number,
  seen: Set<object>,
): SerializedError {
  if (typeof inner === 'object' && inner !== null && seen.has(inner)) {
    return { type: 'Circular', message: '[circular cause omitted]' };
  }
  if (depth + 1 >= MAX_CHAIN_DEPTH) {
    return { type: 'Omitted', message: '[cause chain truncated]' };
  }
  return serialize(inner, scrub, depth + 1, seen);
}

function safeContext(
  context: unknown,
  scrub: (text: string) => string,
): { context?: Record<string, string | number | boolean>; contextOmitted?: number } {
  if (typeof context !== 'object' || context === null) return {};
  const kept: Record<string, string | number | boolean> = {};
  let omitted = 0;
  for (const key of Object.keys(context)) {
    const value = read(context, key);
    if (value === undefined) continue;
    if (!SAFE_CONTEXT_KEYS.has(key)) {
      omitted += 1;
    } else if (typeof value === 'string') {
      kept[key] = limit(scrub(value));
    } else if (typeof value === 'number' || typeof value === 'boolean') {
      kept[key] = value;
    } else {
      omitted += 1;
    }
  }
  return {
    ...(Object.keys(kept).length > 0 ? { context: kept } : {}),
    ...(omitted > 0 ? { contextOmitted: omitted } : {}),
  };
}

function rebuildStack(type: string, message: string, stack: string, scrub: (text: string) => string): string {
  // The first lines of a stack repeat the (unscrubbed, possibly multi-line) message: keep frames only.
  const frames = stack
    .split('\n')
    .filter((line) => /^\s+at\s/.test(line))
    .slice(0, MAX_FRAMES)
    // file:// URLs would otherwise be scrubbed to [URL] and the frame would lose its location.
    .map((line) => `    ${scrub(line.trim().replaceAll('file://', ''))}`);
  return [`${type}: ${message}`, ...frames].join('\n');
}

function constructorName(value: object): string {
  const ctor = read(value, 'constructor');
  const name = typeof ctor === 'function' ? ctor.name : '';
  return name === '' ? 'Error' : name;
}

/** Reads a property without letting a throwing getter break logging. */
function read(target: object, key: string): unknown {
  try {
    return (target as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

function limit(text: string): string {
  return text.length <= MAX_MESSAGE_LENGTH
    ? text
    : `${text.slice(0, MAX_MESSAGE_LENGTH)}…[truncated ${text.length - MAX_MESSAGE_LENGTH} chars]`;
}
