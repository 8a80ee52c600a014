/**
 * FHIR `date`, `dateTime` and `instant` values, which may be partial (`2024`, `2024-05`). Dates are
 * handled on the calendar (UTC arithmetic on the date part); a time part is carried unchanged, so a
 * whole-day shift never moves a value across a time zone.
 *
 * @see https://hl7.org/fhir/R4/datatypes.html#dateTime
 */
export interface FhirDate {
  readonly year: number;
  /** 1..12, absent for a year-only value. */
  readonly month: number | undefined;
  /** 1..31, absent for a year or year-month value. */
  readonly day: number | undefined;
  /** `T…` with time and offset, or ''. */
  readonly time: string;
}

const DATE =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})?)?)?)?$/;
const DAY_MS = 86_400_000;

/** Parses a FHIR date/dateTime/instant; undefined when the text is not one. */
export function parseFhirDate(text: string): FhirDate | undefined {
  const m = DATE.exec(text.trim());
  if (m === null) return undefined;
  const year = Number(m[1]);
  const month = m[2] === undefined ? undefined : Number(m[2]);
  const day = m[3] === undefined ? undefined : Number(m[3]);
  if (month !== undefined && (month < 1 || month > 12)) return undefined;
  if (day !== undefined && month !== undefined) {
    const probe = new Date(Date.UTC(year, month - 1, day));
    if (probe.getUTCMonth() !== month - 1) return undefined;
  }
  return { year, month, day, time: m[4] ?? '' };
}

/**
 * Moves a date by whole days, keeping its precision: a year-month value is moved as its 15th and
 * a year-only value as 1 July, so partial dates move consistently with full ones.
 */
export function shiftFhirDate(date: FhirDate, days: number): string {
  const anchor = Date.UTC(date.year, (date.month ?? 7) - 1, date.day ?? (date.month === undefined ? 1 : 15));
  const shifted = new Date(anchor + days * DAY_MS);
  const year = pad(shifted.getUTCFullYear(), 4);
  if (date.month === undefined) return year;
  const month = `${year}-${pad(shifted.getUTCMonth() + 1, 2)}`;
  if (date.day === undefined) return month;
  return `${month}-${pad(shifted.getUTCDate(), 2)}${date.time}`;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}
