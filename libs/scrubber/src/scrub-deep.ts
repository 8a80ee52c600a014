import { scrub as defaultScrub } from './scrubber.ts';

/** Written in place of an object nested deeper than `maxDepth`. */
export const OMITTED_OBJECT = '[object omitted]';
/** Written in place of a reference back to an enclosing object. */
export const CIRCULAR = '[circular]';

export interface ScrubDeepOptions {
  /** Applied to every string and object key (default: the built-in `scrub`). */
  readonly scrub?: (text: string) => string;
  /** Nesting levels kept below the value itself; deeper objects become `[object omitted]`. Default 8. */
  readonly maxDepth?: number;
  /** Array elements kept; the rest become one `"[+N more]"` entry. Default 100. */
  readonly maxArrayLength?: number;
  /**
   * Applied instead of `scrub` to a string that is the value of an object entry (e.g. a
   * scrubber's `scrubField`, which keeps operational ids readable). Default: `scrub`.
   */
  readonly scrubField?: (key: string, value: string) => string;
  /** Keys whose entries are dropped entirely (compared as given, before scrubbing). */
  readonly omitKey?: (key: string) => boolean;
  /** How an Error is represented (default: `{ type, message }` with the message scrubbed). */
  readonly mapError?: (err: Error) => unknown;
}

/**
 * Returns a copy of a value with every string (and object key) scrubbed. Plain data only comes
 * out: objects and arrays are copied, Maps become arrays of pairs, Sets arrays, Dates their
 * scrubbed ISO form, binary data `"[binary N bytes]"`, functions and symbols disappear, cycles
 * become `"[circular]"`. Numbers and booleans pass unchanged. Getters that throw give
 * `"[unreadable]"`; `toJSON` is never called (it could expose what the walk would hide).
 */
export function scrubDeep(value: unknown, options: ScrubDeepOptions = {}): unknown {
  const settings: Settings = {
    scrub: options.scrub ?? defaultScrub,
    scrubField: options.scrubField,
    maxDepth: options.maxDepth ?? 8,
    maxArrayLength: options.maxArrayLength ?? 100,
    omitKey: options.omitKey,
    mapError: options.mapError,
  };
  return walk(value, 0, new Set(), settings);
}

interface Settings {
  readonly scrub: (text: string) => string;
  readonly scrubField: ((key: string, value: string) => string) | undefined;
  readonly maxDepth: number;
  readonly maxArrayLength: number;
  readonly omitKey: ((key: string) => boolean) | undefined;
  readonly mapError: ((err: Error) => unknown) | undefined;
}

function walk(value: unknown, depth: number, ancestors: Set<object>, settings: Settings): unknown {
  switch (typeof value) {
    case 'string':
      return settings.scrub(value);
    case 'number':
    case 'boolean':
    case 'undefined':
      return value;
    case 'bigint':
      // A bigint is as likely to be an identifier as a count: treat it as text.
      return settings.scrub(value.toString());
    case 'symbol':
    case 'function':
      return undefined;
    case 'object':
      return value === null ? null : walkObject(value, depth, ancestors, settings);
  }
}

function walkObject(value: object, depth: number, ancestors: Set<object>, settings: Settings): unknown {
  if (value instanceof Error) {
    return settings.mapError
      ? settings.mapError(value)
      : { type: value.name, message: settings.scrub(value.message) };
  }
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? 'Invalid Date' : settings.scrub(value.toISOString());
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    return `[binary ${value.byteLength} bytes]`;
  }
  if (depth >= settings.maxDepth) return OMITTED_OBJECT;
  if (ancestors.has(value)) return CIRCULAR;
  ancestors.add(value);
  try {
    if (Array.isArray(value)) return walkArray(value, depth, ancestors, settings);
    if (value instanceof Map) return walkArray([...value.entries()], depth, ancestors, settings);
    if (value instanceof Set) return walkArray([...value.values()], depth, ancestors, settings);
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      if (settings.omitKey?.(key) === true) continue;
      let item: unknown;
      try {
        item = (value as Record<string, unknown>)[key];
      } catch {
        item = '[unreadable]';
      }
      const copy =
        typeof item === 'string' && settings.scrubField !== undefined
          ? settings.scrubField(key, item)
          : walk(item, depth + 1, ancestors, settings);
      if (copy !== undefined) out[settings.scrub(key)] = copy;
    }
    return out;
  } finally {
    // Only the current path counts: a value shared by two siblings is copied twice, not "circular".
    ancestors.delete(value);
  }
}

function walkArray(
  items: readonly unknown[],
  depth: number,
  ancestors: Set<object>,
  settings: Settings,
): unknown[] {
  const kept = items
    .slice(0, settings.maxArrayLength)
    .map((item) => walk(item, depth + 1, ancestors, settings));
  if (items.length > settings.maxArrayLength) kept.push(`[+${items.length - settings.maxArrayLength} more]`);
  return kept;
}
