import {
  pino,
  type Bindings,
  type ChildLoggerOptions,
  type DestinationStream,
  type LogFn,
  type Logger as PinoLogger,
  type LoggerOptions,
} from 'pino';
import { PipelineError } from '@ehrflow/errors';
import { createScrubber, scrubDeep } from '@ehrflow/scrubber';
import { interpolate } from './interpolate.ts';
import { isOmittedKey } from './omitted-keys.ts';
import { serializeError } from './serialize-error.ts';

/** The product's logger: a pino logger whose every entry point is PHI-safe. */
export type Logger = PinoLogger;

export interface CreateLoggerOptions {
  /** Service or component name, written as `name` on every line. */
  readonly name: string;
  /** pino level name; default `info`. */
  readonly level?: string;
  /** Where lines go; default stdout. Tests pass a capturing stream. */
  readonly destination?: DestinationStream;
  /** Values to redact as `[REDACTED]` wherever they appear (see `createScrubber`). */
  readonly sensitive?: Iterable<string>;
}

/** Objects nested deeper than this below a log argument become `"[object omitted]"`. */
const MAX_OBJECT_DEPTH = 3;
const MAX_ARRAY_LENGTH = 20;
const MAX_MESSAGE_LENGTH = 4000;
const LEVELS = new Set([...Object.keys(pino.levels.values), 'silent']);

/**
 * Creates a logger. The only logger factory of the product; PHI-safe by construction:
 *
 * - merge objects and child bindings are copied with PHI-carrying keys removed at every depth
 *   (`isOmittedKey`), objects deeper than 3 levels omitted, arrays capped and every string scrubbed;
 * - the message, after printf-style interpolation, goes through the scrubber as a whole;
 * - errors, wherever they appear, are written by `serializeError`, never by copying their properties;
 * - `child()` and `setBindings()` sanitize bindings the same way; child options may only set
 *   `level` and `msgPrefix` (scrubbed), because serializers or formatters could undo all of this.
 *
 * @throws PipelineError CONFIG_INVALID for an unknown level.
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const level = options.level ?? 'info';
  assertLevel(level);
  // Operational ids (source, job, topic, partition, offset, subject) stay readable: see @ehrflow/scrubber.
  const { scrub, scrubField } = createScrubber({ sensitive: options.sensitive ?? [], keepOperational: true });
  const sanitize = (value: unknown): unknown =>
    scrubDeep(value, {
      scrub,
      scrubField,
      maxDepth: MAX_OBJECT_DEPTH,
      maxArrayLength: MAX_ARRAY_LENGTH,
      omitKey: isOmittedKey,
      mapError: (err) => serializeError(err, scrub),
    });
  const stringify = (value: unknown): string => JSON.stringify(sanitize(value)) ?? String(value);
  const render = (template: unknown, params: readonly unknown[]): string => {
    const text =
      typeof template === 'string' ? interpolate(template, params, stringify) : stringify(template);
    return truncate(scrub(text));
  };
  // Errors met outside a merge object (bindings) still never go through pino's default serializer.
  const errorSerializer = (value: unknown): unknown =>
    value instanceof Error ? serializeError(value, scrub) : value;

  const pinoOptions: LoggerOptions = {
    name: options.name,
    level,
    serializers: { err: errorSerializer, error: errorSerializer },
    hooks: {
      logMethod(this: PinoLogger, args: Parameters<LogFn>, method: LogFn): void {
        method.apply(this, safeArguments(args, sanitize, render) as Parameters<LogFn>);
      },
    },
  };
  const logger =
    options.destination === undefined ? pino(pinoOptions) : pino(pinoOptions, options.destination);
  guardBindings(logger, sanitize, scrub);
  return logger;
}

/**
 * Rewrites the arguments of a log call into `[sanitizedObject?, scrubbedMessage?]`, so pino never
 * sees a raw object, a raw error or an interpolation argument.
 */
function safeArguments(
  args: readonly unknown[],
  sanitize: (value: unknown) => unknown,
  render: (template: unknown, params: readonly unknown[]) => string,
): unknown[] {
  if (args.length === 0) return [];
  const [first, ...rest] = args;
  if (typeof first === 'string') return [render(first, rest)];
  if (typeof first !== 'object' || first === null) {
    return rest.length === 0 ? [render(String(first), [])] : [render(rest[0], rest.slice(1))];
  }
  // pino would take an error's own message as the line's message: take it here, scrubbed.
  const error = first instanceof Error ? first : (first as { err?: unknown }).err;
  const object = first instanceof Error ? { err: first } : first;
  const message =
    rest.length > 0
      ? render(rest[0], rest.slice(1))
      : error instanceof Error
        ? render(error.message, [])
        : undefined;
  return message === undefined ? [sanitize(object)] : [sanitize(object), message];
}

function guardBindings(
  root: PinoLogger,
  sanitize: (value: unknown) => unknown,
  scrub: (text: string) => string,
): void {
  // Children are created with Object.create(parent), so these overrides are inherited by every
  // descendant and each of them calls pino's own implementation on itself.
  // pino's generic custom-level types do not survive re-wrapping; the runtime shape is this.
  type ChildFn = (this: PinoLogger, bindings: Bindings, options?: ChildLoggerOptions) => PinoLogger;
  // Both are re-invoked below with the calling logger as `this`, never detached.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const pinoChild = root.child as unknown as ChildFn;
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const pinoSetBindings = root.setBindings;
  root.child = function child(this: PinoLogger, bindings: Bindings, childOptions?: ChildLoggerOptions) {
    return pinoChild.call(this, sanitize(bindings ?? {}) as Bindings, safeChildOptions(childOptions, scrub));
  } as unknown as PinoLogger['child'];
  root.setBindings = function setBindings(this: PinoLogger, bindings: Bindings): void {
    pinoSetBindings.call(this, sanitize(bindings ?? {}) as Bindings);
  };
}

function safeChildOptions(
  options: ChildLoggerOptions | undefined,
  scrub: (text: string) => string,
): ChildLoggerOptions | undefined {
  if (options === undefined) return undefined;
  const unsupported = Object.keys(options).filter((key) => key !== 'level' && key !== 'msgPrefix');
  if (unsupported.length > 0) {
    throw new PipelineError(
      'CONFIG_INVALID',
      `child logger options may only set level and msgPrefix (got ${unsupported.join(', ')}); others could bypass PHI scrubbing`,
    );
  }
  if (options.level !== undefined) assertLevel(options.level);
  return {
    ...(options.level === undefined ? {} : { level: options.level }),
    ...(options.msgPrefix === undefined ? {} : { msgPrefix: scrub(options.msgPrefix) }),
  };
}

function assertLevel(level: string): void {
  if (!LEVELS.has(level)) {
    // The level comes from configuration, not from a record, but it is not echoed anyway.
    throw new PipelineError('CONFIG_INVALID', `log level must be one of ${[...LEVELS].join(', ')}`, {
      context: { variable: 'LOG_LEVEL' },
    });
  }
}

function truncate(text: string): string {
  return text.length <= MAX_MESSAGE_LENGTH
    ? text
    : `${text.slice(0, MAX_MESSAGE_LENGTH)}…[truncated ${text.length - MAX_MESSAGE_LENGTH} chars]`;
}
