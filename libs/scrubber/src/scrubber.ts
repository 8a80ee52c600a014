/**
 * The one scrubber that every log line, error message, alert and dead-letter reason goes through.
 * It replaces identifier-shaped text with typed placeholders and keeps PHI-free diagnostics
 * (error codes, field paths, topic names, labelled counters, record ids, UUIDs) readable.
 *
 * It is a safety net, not the primary control: code must still never put a record value into a
 * message. Regexes are compiled once at module load; the sensitive-value regex once per
 * `addSensitive` call.
 *
 * Detectors, in the order they run:
 *
 * | placeholder  | catches                                                                    | misses                                                           |
 * |--------------|----------------------------------------------------------------------------|------------------------------------------------------------------|
 * | `[REDACTED]` | caller-supplied values, case-insensitive, whole value (not inside a word)  | other spellings of the same value, values shorter than 2 chars   |
 * | `[URL]`      | `scheme://…` and `www.…`                                                    | bare host names and paths without scheme                         |
 * | `[EMAIL]`    | `local@domain.tld`                                                         | obfuscated forms ("john at example dot com")                     |
 * | `[SSN]`      | `123-45-6789`, `123 45 6789`, `123.45.6789`, `SSN 123456789`               | unlabelled 9-digit runs become `[ID]` instead                    |
 * | `[PHONE]`    | NANP `(555) 123-4567`, `555.123.4567`, `+1 555 123 4567`, `+44 20 7946 0958`, labelled `tel/phone/fax/mobile/cell <digits>` | unlabelled 7-digit local numbers, vanity numbers |
 * | `[DATE]`     | ISO `1961-03-03` (with time), `1961/03/03`, `03/03/1961`, `3-3-61`, `03.03.1961`, `March 3, 1961`, `3 March 1961`, `03-MAR-1961` | month-year only, bare years, ages, compact `19610303` (→ `[ID]`) |
 * | `[IP]`       | IPv4 dotted quads                                                          | IPv6                                                             |
 * | `[ADDRESS]`  | `<number> <Capitalised name…> <Street/St/Ave/Road/Rd/Blvd/Lane/Ln/Dr/Drive/Court/Ct/Way/Place/Row/Crescent/…>` with unit, `PO Box 12` | lower-case or unnumbered streets, city/state/ZIP lines, non-US formats |
 * | `[ID]`       | labelled ids (`MRN 1234567`, `MRN:AB123456`, `account no. 12-345`, `member id X9`, `NPI`, `MBI` …), runs of 7+ digits optionally after a 1–4 letter prefix | unlabelled short or alphanumeric ids, names (only caller-supplied values catch names) |
 *
 * Kept on purpose, with `keepOperational` (logs and alerts): operational ids after their label or
 * under their key (`source site-20240917`, `{ topic: 'ehr.raw' }`; see operational.ts).
 *
 * Kept on purpose: UUIDs, lower-case hex ids of 16–64 characters with at least one letter
 * (record ids, hashes), numbers right after a counter label (`offset 1234567`, `partition 3`,
 * `line 120`, `attempt 2`, `sizeBytes=2048000`…) and numbers right before a unit (`1500000 ms`,
 * `2500000 records`), unless the number is one group of a longer digit sequence.
 */

import { isOperationalField, isOperationalToken, OPERATIONAL_LABEL } from './operational.ts';

/** Placeholders the scrubber writes; stable strings other code and tests may rely on. */
export const PLACEHOLDERS = {
  sensitive: '[REDACTED]',
  url: '[URL]',
  email: '[EMAIL]',
  ssn: '[SSN]',
  phone: '[PHONE]',
  date: '[DATE]',
  ip: '[IP]',
  address: '[ADDRESS]',
  id: '[ID]',
} as const;

/** The functions are closures (no `this`), so they can be passed around on their own. */
export interface Scrubber {
  /** Returns the text with every detected identifier replaced by its placeholder. */
  readonly scrub: (text: string) => string;
  /**
   * Scrubs the value of an object entry: with `keepOperational`, the value of an operational key
   * (`sourceId`, `jobId`, `topic`, `partition`, `offset`, `subject`, …) that has an operational
   * id's shape is kept (only caller-supplied sensitive values are redacted in it); anything else
   * is scrubbed like text. See operational.ts.
   */
  readonly scrubField: (key: string, value: string) => string;
  /** Adds values (e.g. known PHI of the record in hand) to redact as `[REDACTED]`. */
  readonly addSensitive: (values: Iterable<string>) => void;
}

export interface ScrubberOptions {
  /** Values to redact wherever they appear as a whole (case-insensitive). */
  readonly sensitive?: Iterable<string>;
  /**
   * Keep operational ids readable: after a label in text (`source site-20240917`, `topic ehr.raw`,
   * `subject ehr.raw-value`) and under operational keys (`scrubField`). For logs and alerts only:
   * never for clinical free text. Default false.
   */
  readonly keepOperational?: boolean;
}

interface Detector {
  readonly pattern: RegExp;
  /** A replacement string; `$1`, `$2` keep a label the pattern captured. */
  readonly replacement: string;
  /**
   * What a text must have for the pattern to match at all; when it has not, the pattern is not
   * run. Only for patterns that cost much per character of text that has nothing to find (each
   * regular expression scans the whole text, and most texts hold no URL, e-mail or long number).
   */
  readonly needs?: (features: TextFeatures) => boolean;
}

/**
 * What the costlier patterns cannot match without, found in one pass over the text. Replacing a
 * match never adds what another pattern needs (placeholders have no digit, "@" or "://"; the
 * protected-token markers hold a short index between two private-use characters), so the
 * features of the input hold for every pass.
 */
interface TextFeatures {
  /** Has an "@" (an e-mail address). */
  readonly at: boolean;
  /** Has "://" or "www." (a URL). */
  readonly link: boolean;
  /** Longest run of digits. */
  readonly digits: number;
  /** Longest run of hex digits, either case (a UUID's last group has 12). */
  readonly hex: number;
  /** Longest run of lower-case hex digits (a protected record id or hash has 16 or more). */
  readonly lowerHex: number;
}

const WWW = /www\./i;

function featuresOf(text: string): TextFeatures {
  let digits = 0;
  let hex = 0;
  let lowerHex = 0;
  let runDigits = 0;
  let runHex = 0;
  let runLowerHex = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    const digit = c >= 48 && c <= 57;
    const lower = c >= 97 && c <= 102;
    runDigits = digit ? runDigits + 1 : 0;
    runLowerHex = digit || lower ? runLowerHex + 1 : 0;
    runHex = digit || lower || (c >= 65 && c <= 70) ? runHex + 1 : 0;
    if (runDigits > digits) digits = runDigits;
    if (runLowerHex > lowerHex) lowerHex = runLowerHex;
    if (runHex > hex) hex = runHex;
  }
  return {
    at: text.includes('@'),
    link: text.includes('://') || WWW.test(text),
    digits,
    hex,
    lowerHex,
  };
}

const MONTH =
  '(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)';
const STREET_SUFFIX =
  '(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Ter|Circle|Cir|Parkway|Pkwy|Highway|Hwy|Square|Sq|Trail|Trl|Alley|Aly|Row|Crescent|Cres|Mews|Grove|Gardens|Plaza|Plz|Freeway|Fwy|Expressway|Expy|Turnpike|Tpke)';
const ID_LABEL =
  '(?:MRN|MR#|medical\\s+record(?:\\s+(?:number|no\\.?|#))?|patient\\s+(?:id|number|no\\.?)|acct|account(?:\\s+(?:number|no\\.?|#))?|member\\s+(?:id|number)|subscriber\\s+(?:id|number)|policy\\s+(?:number|no\\.?|#)|claim\\s+(?:number|no\\.?|#)|insurance\\s+(?:id|number)|license\\s+(?:number|no\\.?|#)|medicaid\\s+(?:id|number)|medicare\\s+(?:id|number)|NPI|DEA|MBI|HICN)';
const COUNTER_LABEL =
  '(?:offsets?|partitions?|generation|epoch|lag|attempts?|retries|count|total|bytes|size|sizeBytes|maxBytes|line|page|entry|batch|position|seq|schema\\s+id|schemaId|version|ms|durationMs|elapsedMs|retryAfterMs|timeoutMs|limit|index|status|port|controlId|control\\s+id|MSH-10)';

const UNIT = '(?:ms|bytes|KiB|MiB|GiB|records|messages|rows|entries|events|items|resources|partitions)';

/** Tokens to keep verbatim; matched before the detectors so none of them can eat a part. */
const PROTECTED: readonly Omit<Detector, 'replacement'>[] = [
  {
    pattern: /\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b/g,
    needs: (f) => f.hex >= 12,
  },
  // Record ids and hashes: lower-case hex with a letter, so a pure digit run is still an [ID].
  { pattern: /\b(?=[0-9a-f]*[a-f])[0-9a-f]{16,64}\b/g, needs: (f) => f.lowerHex >= 16 },
];
/**
 * A number that is part of a larger digit group ("555 123 4567", "12-34") is never protected,
 * otherwise protecting one group would break the pattern that catches the whole.
 */
const NOT_A_GROUP = '(?![\\w]|[-/.:]\\d|\\s+\\d)';
/** A counter label followed by a plain number; only the number is protected. */
const PROTECTED_COUNTER = new RegExp(`\\b(${COUNTER_LABEL}\\s*[:=]?\\s*)(\\d+)${NOT_A_GROUP}`, 'gi');
/** A plain number followed by a unit ("1700000 ms"); case-sensitive, as "3 Records Way" is an address. */
const PROTECTED_QUANTITY = new RegExp(`(?<![\\w.,:/+()-])(?<!\\d\\s+)\\d+(?=\\s*${UNIT}\\b)`, 'g');

const DETECTORS: readonly Detector[] = [
  {
    pattern: /(?<![\w.+-])(?:[a-z][a-z0-9+.-]{1,15}:\/\/|www\.)[^\s"'<>()[\]{}]*[^\s"'<>()[\]{}.,;:!?]/gi,
    replacement: PLACEHOLDERS.url,
    needs: (f) => f.link,
  },
  {
    pattern: /(?<![\w.%+-])[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b/g,
    replacement: PLACEHOLDERS.email,
    needs: (f) => f.at,
  },
  { pattern: /(?<![\w-])\d{3}([- .])\d{2}\1\d{4}(?![\w-])/g, replacement: PLACEHOLDERS.ssn },
  {
    pattern: /\b(SSN\b[\s:#=-]*)\d{9}\b/gi,
    replacement: `$1${PLACEHOLDERS.ssn}`,
    needs: (f) => f.digits >= 9,
  },
  {
    pattern: /(?<![\w+])(?:\+?1[\s.-]?)?(?:\(\d{3}\)[\s.-]?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?!\w)/g,
    replacement: PLACEHOLDERS.phone,
  },
  { pattern: /(?<![\w+])\+\d{1,3}(?:[\s.-]?\d{2,4}){2,5}(?!\w)/g, replacement: PLACEHOLDERS.phone },
  {
    pattern: /\b((?:phone|tel|telephone|fax|mobile|cell)\b[\s:#=.]*)\+?\d[\d().\s-]{5,}\d/gi,
    replacement: `$1${PLACEHOLDERS.phone}`,
  },
  {
    pattern:
      /(?<![\w-])\d{4}([-/])(?:0?[1-9]|1[0-2])\1(?:0?[1-9]|[12]\d|3[01])(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?(?![\w-])/g,
    replacement: PLACEHOLDERS.date,
  },
  {
    pattern: /(?<![\w/.-])\d{1,2}([/-])\d{1,2}\1(?:\d{4}|\d{2})(?![\w/.-])/g,
    replacement: PLACEHOLDERS.date,
  },
  { pattern: /(?<![\w/.-])\d{1,2}\.\d{1,2}\.\d{4}(?![\w/.-])/g, replacement: PLACEHOLDERS.date },
  {
    pattern: new RegExp(`\\b${MONTH}\\.?\\s+\\d{1,2}(?:st|nd|rd|th)?,?\\s+\\d{4}\\b`, 'gi'),
    replacement: PLACEHOLDERS.date,
  },
  {
    pattern: new RegExp(
      `\\b\\d{1,2}(?:st|nd|rd|th)?(?:\\s+of\\s+|[\\s-]+)${MONTH}\\.?,?[\\s-]+\\d{2,4}\\b`,
      'gi',
    ),
    replacement: PLACEHOLDERS.date,
  },
  {
    pattern:
      /(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\w|\.\d)/g,
    replacement: PLACEHOLDERS.ip,
  },
  {
    // Case-sensitive on purpose: "3 records on the way" must not look like "3 Records Way".
    pattern: new RegExp(
      `(?<![\\w-])\\d{1,6}[A-Za-z]?(?:\\s+(?:[NSEW]\\.?|North|South|East|West))?(?:\\s+(?:[A-Z][A-Za-z'.-]*|\\d+(?:st|nd|rd|th))){1,4}?\\s+${STREET_SUFFIX}\\b\\.?(?:\\s+(?:NE|NW|SE|SW|N|S|E|W)\\b)?(?:,?\\s*(?:Apt|Apartment|Suite|Ste|Unit|#)\\.?\\s*[\\w-]+)?`,
      'g',
    ),
    replacement: PLACEHOLDERS.address,
  },
  { pattern: /\bP\.?\s?O\.?\s*Box\s+\d+\b/gi, replacement: PLACEHOLDERS.address },
  {
    pattern: new RegExp(
      `\\b(${ID_LABEL})\\b(\\s*(?:[:#=]|no\\.?|number)?\\s*)(?=[A-Za-z0-9-]*\\d)[A-Za-z0-9][A-Za-z0-9-]*`,
      'gi',
    ),
    replacement: `$1$2${PLACEHOLDERS.id}`,
  },
  { pattern: /\b(?:[A-Za-z]{1,4}-?)?\d{7,}\b/g, replacement: PLACEHOLDERS.id, needs: (f) => f.digits >= 7 },
];

/** Cheap pre-check: every detector needs a digit, an "@", "://" or "www.". */
const MAYBE_IDENTIFIER = /[\d@]|:\/\/|www\./i;
/** Private-use characters frame protected tokens while detectors run. */
const SENTINEL_CHARS = /[\uE000\uE001]/g;
const SENTINEL = /\uE000(\d+)\uE001/g;
const MIN_SENSITIVE_LENGTH = 2;

/**
 * Creates a scrubber, optionally with caller-supplied sensitive values (redacted as
 * `[REDACTED]` before any pattern runs).
 */
export function createScrubber(options: ScrubberOptions = {}): Scrubber {
  const sensitive = new Set<string>();
  let sensitivePattern: RegExp | undefined;

  const addSensitive = (values: Iterable<string>): void => {
    let changed = false;
    for (const value of values) {
      const normalised = typeof value === 'string' ? value.trim().toLowerCase() : '';
      if (normalised.length < MIN_SENSITIVE_LENGTH || sensitive.has(normalised)) continue;
      sensitive.add(normalised);
      changed = true;
    }
    if (changed) sensitivePattern = compileSensitive(sensitive);
  };

  const keepOperational = options.keepOperational === true;
  const redactSensitive = (text: string): string =>
    sensitivePattern === undefined ? text : text.replace(sensitivePattern, PLACEHOLDERS.sensitive);
  const scrub = (input: string): string => {
    const text = redactSensitive(typeof input === 'string' ? input : String(input));
    if (!MAYBE_IDENTIFIER.test(text)) return text;
    return scrubPatterns(text, keepOperational);
  };
  const scrubField = (key: string, value: string): string =>
    keepOperational && isOperationalField(key, value) ? redactSensitive(value) : scrub(value);

  if (options.sensitive !== undefined) addSensitive(options.sensitive);
  return { scrub, scrubField, addSensitive };
}

const defaultScrubber = createScrubber();

/** Scrubs text with the built-in detectors only (no caller-supplied values). */
export function scrub(text: string): string {
  return defaultScrubber.scrub(text);
}

function scrubPatterns(input: string, keepOperational: boolean): string {
  const kept: string[] = [];
  const keep = (token: string): string => `\uE000${kept.push(token) - 1}\uE001`;
  let text = input.replace(SENTINEL_CHARS, '');
  const features = featuresOf(text);
  for (const { pattern, needs } of PROTECTED) {
    if (needs === undefined || needs(features)) text = text.replace(pattern, keep);
  }
  if (keepOperational) {
    text = text.replace(
      OPERATIONAL_LABEL,
      (match: string, label: string, separator: string, token: string) =>
        isOperationalToken(label, token) ? label + separator + keep(token) : match,
    );
  }
  text = text.replace(PROTECTED_COUNTER, (_m, label: string, digits: string) => label + keep(digits));
  text = text.replace(PROTECTED_QUANTITY, keep);
  for (const { pattern, replacement, needs } of DETECTORS) {
    if (needs === undefined || needs(features)) text = text.replace(pattern, replacement);
  }
  return kept.length === 0 ? text : text.replace(SENTINEL, (_m, index: string) => kept[Number(index)] ?? '');
}

function compileSensitive(values: ReadonlySet<string>): RegExp {
  // Longest first, so "Jane Q Doe" wins over "Jane".
  const alternatives = [...values]
    .sort((a, b) => b.length - a.length)
    .map((value) => {
      const body = value
        .split(/\s+/)
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('\\s+');
      const start = /^[\p{L}\p{N}_]/u.test(value) ? '(?<![\\p{L}\\p{N}_])' : '';
      const end = /[\p{L}\p{N}_]$/u.test(value) ? '(?![\\p{L}\\p{N}_])' : '';
      return start + body + end;
    });
  return new RegExp(alternatives.join('|'), 'giu');
}
