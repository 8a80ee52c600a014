/**
 * How the server wrote its `Retry-After`: `delta` seconds (the usual form), an HTTP `date`, or an
 * `epoch`-like number (Unix seconds or milliseconds where delta-seconds belong, seen on real
 * gateways against RFC 9110). Anything but `delta` is worth a log line: it depends on our clock.
 */
export type RetryAfterForm = 'delta' | 'date' | 'epoch';

/** A parsed `Retry-After`: how long to wait, and whether an absurd value was cut down to the cap. */
export interface RetryAfter {
  readonly ms: number;
  /** True when the header asked for more than `capMs`; the caller logs a warning. */
  readonly capped: boolean;
  readonly form: RetryAfterForm;
}

/**
 * Delta-seconds at or above this (about 31.7 years) are read as a Unix time in seconds; at or
 * above `EPOCH_MS_FROM`, in milliseconds. No server means a wait of decades.
 */
export const EPOCH_SECONDS_FROM = 1_000_000_000;
const EPOCH_MS_FROM = 100_000_000_000;

const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const LONG_DAY = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const MONTH = '(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

// The three HTTP-date forms a recipient must accept (RFC 9110 §5.6.7).
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
const RFC850 = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
const ASCTIME = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`);

/**
 * Parses a `Retry-After` header: delta-seconds or an HTTP-date (a date in the past means "now").
 * An epoch-like number (see `EPOCH_SECONDS_FROM`) is taken as the absolute time it names.
 * Returns `undefined` for a missing or malformed header, so the caller falls back to its backoff.
 * A wait above `capMs` is returned as `capMs` with `capped: true`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3
 */
export function parseRetryAfter(
  header: string | undefined,
  now: Date,
  capMs: number,
): RetryAfter | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  let ms: number | undefined;
  let form: RetryAfterForm = 'delta';
  if (/^\d+$/.test(value)) {
    const n = Number(value);
    if (n >= EPOCH_MS_FROM) {
      form = 'epoch';
      ms = Math.max(0, n - now.getTime());
    } else if (n >= EPOCH_SECONDS_FROM) {
      form = 'epoch';
      ms = Math.max(0, n * 1000 - now.getTime());
    } else {
      ms = n * 1000;
    }
  } else {
    const at = parseHttpDate(value);
    if (at !== undefined) {
      form = 'date';
      ms = Math.max(0, at - now.getTime());
    }
  }
  if (ms === undefined) return undefined;
  return ms <= capMs ? { ms, capped: false, form } : { ms: capMs, capped: true, form };
}

/** Epoch milliseconds of an HTTP-date in any of its three forms, or `undefined`. */
export function parseHttpDate(value: string): number | undefined {
  let m = IMF_FIXDATE.exec(value);
  if (m !== null) return utc(Number(m[3]), m[2], Number(m[1]), m[4], m[5], m[6]);
  m = RFC850.exec(value);
  if (m !== null) return utc(fullYear(Number(m[3])), m[2], Number(m[1]), m[4], m[5], m[6]);
  m = ASCTIME.exec(value);
  if (m !== null) return utc(Number(m[6]), m[1], Number(m[2]?.trim()), m[3], m[4], m[5]);
  return undefined;
}

/** RFC 850 two-digit years: taken in the current century unless that lands over 50 years ahead. */
function fullYear(twoDigit: number): number {
  const thisYear = new Date().getUTCFullYear();
  const candidate = Math.floor(thisYear / 100) * 100 + twoDigit;
  return candidate > thisYear + 50 ? candidate - 100 : candidate;
}

function utc(
  year: number,
  monthName: string | undefined,
  day: number,
  hh: string | undefined,
  mm: string | undefined,
  ss: string | undefined,
): number | undefined {
  const month = MONTHS.indexOf(monthName ?? '');
  const [h, mi, s] = [Number(hh), Number(mm), Number(ss)];
  const t = Date.UTC(year, month, day, h, mi, s);
  const d = new Date(t);
  // Reject dates the calendar does not have (31 Feb, 25:00) instead of letting Date roll them over.
  const exact =
    d.getUTCMonth() === month &&
    d.getUTCDate() === day &&
    d.getUTCHours() === h &&
    d.getUTCMinutes() === mi &&
    d.getUTCSeconds() === s;
  return exact ? t : undefined;
}
