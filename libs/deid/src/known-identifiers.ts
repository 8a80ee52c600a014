import type { FieldContract } from '@ehrflow/contracts';
import { resourceIdentity } from './identity.ts';

/**
 * The patient's own identifiers, taken from the PHI fields of the record in hand, matched wherever
 * they appear in its free text and replaced by a typed placeholder. This catches what no pattern
 * can (a bare family name, a short local MRN) and types what a pattern would call `[REDACTED]`.
 */

/** What a known identifier is; decides its placeholder and how loosely it is matched. */
export type IdentifierKind = 'NAME' | 'DATE' | 'PHONE' | 'EMAIL' | 'SSN' | 'ADDRESS' | 'ID';

/** Placeholder written for each kind. */
export const KIND_PLACEHOLDERS: Readonly<Record<IdentifierKind, string>> = {
  NAME: '[NAME]',
  DATE: '[DATE]',
  PHONE: '[PHONE]',
  EMAIL: '[EMAIL]',
  SSN: '[SSN]',
  ADDRESS: '[ADDRESS]',
  ID: '[ID]',
};

/** Shortest name part matched on its own ("Li" is a name; "J" is not worth a match). */
const MIN_NAME_CHARS = 2;
/** Shortest identifier matched (letters and digits only): shorter ones blank ordinary numbers. */
const MIN_ID_CHARS = 4;
const MIN_PHONE_DIGITS = 7;
const MIN_SSN_DIGITS = 9;
const DATE_TYPES = new Set(['date', 'dateTime', 'instant']);

/**
 * The kind of a PHI field's values, from its FHIR type and name. Unknown fields are `ID`: the
 * loosest match, so an unrecognised identifier still disappears from notes.
 */
export function identifierKindOf(field: Pick<FieldContract, 'name' | 'attrs'>): IdentifierKind {
  const name = field.name;
  if (DATE_TYPES.has(String(field.attrs.fhirType)) || /date|birth/i.test(name)) return 'DATE';
  if (/ssn|social/i.test(name)) return 'SSN';
  if (/e-?mail/i.test(name)) return 'EMAIL';
  if (/phone|fax|mobile|tel(?!l)/i.test(name)) return 'PHONE';
  if (/name/i.test(name)) return 'NAME';
  if (/address|street|city|postal|zip|county/i.test(name)) return 'ADDRESS';
  return 'ID';
}

/** A compiled matcher for one record's identifiers. */
export interface KnownIdentifiers {
  /** How many values it looks for (0: `replace` returns its input). */
  readonly size: number;
  /** Replaces every occurrence with its kind's placeholder. */
  replace(text: string): string;
}

/** A matcher that finds nothing (`size` 0). */
export const NO_IDENTIFIERS: KnownIdentifiers = { size: 0, replace: (text) => text };
const NONE = NO_IDENTIFIERS;

/**
 * Applies `first`, then `second` (the record's own identifiers, then its patient's from a
 * directory). A value both know is replaced by the first; overlapping values of the two are each
 * matched on what the other left.
 */
export function chainKnownIdentifiers(first: KnownIdentifiers, second: KnownIdentifiers): KnownIdentifiers {
  if (second.size === 0) return first;
  if (first.size === 0) return second;
  return { size: first.size + second.size, replace: (text) => second.replace(first.replace(text)) };
}

interface Needle {
  /** Lower-case letters and digits of the value, in order. */
  readonly key: string;
  readonly kind: IdentifierKind;
}

/** Most non-alphanumeric characters allowed between two characters of a match ("(555) 010"). */
export const MAX_GAP = 3;

/**
 * Compiles the identifiers of one record for matching in its free text.
 *
 * Matching works on the "skeleton" of the text — its letters and digits, lower-cased — so a value
 * matches whatever separators surround its characters (`555-0100` also matches `555 0100` and
 * `5550100`, `MRN-4471902` matches `mrn 4471902`), with at most three other characters between
 * two of its characters, and only as a whole run: a match must start and end where letters and
 * digits start and end (`Marisol` does not match inside `Marisolanne`). Names also match part by
 * part; dates match by their ISO date part (other spellings are left to the date detectors).
 * Longer values win over shorter ones that overlap them.
 *
 * No regular expression is built per record: V8 compiles every new pattern to native code, which
 * would cost milliseconds per record.
 */
export function compileKnownIdentifiers(
  values: Iterable<readonly [IdentifierKind, string]>,
): KnownIdentifiers {
  const seen = new Set<string>();
  const needles: Needle[] = [];
  for (const [kind, value] of values) {
    for (const key of identifierKeys(kind, value)) {
      if (seen.has(key)) continue;
      seen.add(key);
      needles.push({ key, kind });
    }
  }
  if (needles.length === 0) return NONE;
  needles.sort((a, b) => b.key.length - a.key.length);
  return { size: needles.length, replace: (text) => replaceNeedles(text, needles) };
}

function replaceNeedles(text: string, needles: readonly Needle[]): string {
  const { skeleton, at } = skeletonOf(text);
  if (skeleton.length === 0) return text;
  /** Skeleton positions already claimed by a (longer) match; allocated at the first match. */
  let taken: Uint8Array | undefined;
  let spans: { start: number; end: number; kind: IdentifierKind }[] | undefined;
  for (const { key, kind } of needles) {
    for (let p = skeleton.indexOf(key); p >= 0; p = skeleton.indexOf(key, p + 1)) {
      const q = p + key.length - 1;
      if (!isWholeRun(text, at, p, q)) continue;
      taken ??= new Uint8Array(skeleton.length);
      if (isTaken(taken, p, q)) continue;
      taken.fill(1, p, q + 1);
      (spans ??= []).push({ start: at[p] ?? 0, end: (at[q] ?? 0) + 1, kind });
    }
  }
  if (spans === undefined) return text;
  spans.sort((a, b) => a.start - b.start);
  let out = '';
  let last = 0;
  for (const span of spans) {
    out += text.slice(last, span.start) + KIND_PLACEHOLDERS[span.kind];
    last = span.end;
  }
  return out + text.slice(last);
}

function isTaken(taken: Uint8Array, p: number, q: number): boolean {
  for (let i = p; i <= q; i += 1) if (taken[i] === 1) return true;
  return false;
}

interface Skeleton {
  /** The lower-cased letters and digits of the text, in order. */
  readonly skeleton: string;
  /** Where each skeleton character is in the text (the entries past the skeleton's length mean nothing). */
  readonly at: Int32Array;
}

/**
 * The last text's skeleton: a record's own identifiers and its patient's are two matchers applied
 * one after the other (`chainKnownIdentifiers`), and when the first replaces nothing the second
 * gets the same text. In this process's memory only, like the text itself.
 */
let lastText: string | undefined;
let lastSkeleton: Skeleton = { skeleton: '', at: new Int32Array(0) };

/** The lower-cased letters and digits of a text, with the index of each in the text. */
function skeletonOf(text: string): Skeleton {
  if (text === lastText) return lastSkeleton;
  const found = isAscii(text) ? asciiSkeletonOf(text) : unicodeSkeletonOf(text);
  lastText = text;
  lastSkeleton = found;
  return found;
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) if (text.charCodeAt(i) > 127) return false;
  return true;
}

/**
 * The positions of the last ASCII skeleton, reused: a typed array costs more to allocate than the
 * skeleton of a short note costs to build. Only `lastSkeleton` refers to it, and it is replaced
 * whenever this is overwritten; its entries beyond the skeleton's length are stale.
 */
let positions = new Int32Array(1_024);

/** ASCII text (nearly all): lower-cased at once, each run of letters and digits appended whole. */
function asciiSkeletonOf(text: string): Skeleton {
  const lower = text.toLowerCase();
  if (positions.length < text.length) positions = new Int32Array(text.length * 2);
  const at = positions;
  let n = 0;
  let skeleton = '';
  let run = -1;
  for (let i = 0; i < lower.length; i += 1) {
    const c = lower.charCodeAt(i);
    if ((c >= 48 && c <= 57) || (c >= 97 && c <= 122)) {
      if (run < 0) run = i;
      at[n] = i;
      n += 1;
    } else if (run >= 0) {
      skeleton += lower.slice(run, i);
      run = -1;
    }
  }
  if (run >= 0) skeleton += lower.slice(run);
  return { skeleton, at };
}

function unicodeSkeletonOf(text: string): Skeleton {
  let skeleton = '';
  const at: number[] = [];
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if ((c >= 48 && c <= 57) || (c >= 97 && c <= 122)) {
      skeleton += text[i];
      at.push(i);
    } else if (c >= 65 && c <= 90) {
      skeleton += String.fromCharCode(c + 32);
      at.push(i);
    } else if (c > 127 && isAlnum(text[i] ?? '')) {
      // Non-ASCII letters: one UTF-16 unit at a time is enough for the letters names use.
      skeleton += (text[i] ?? '').toLowerCase();
      at.push(i);
    }
  }
  return { skeleton, at: Int32Array.from(at) };
}

/** Whether skeleton positions p..q form a whole run of the text, with small gaps only. */
function isWholeRun(text: string, at: Int32Array, p: number, q: number): boolean {
  const start = at[p] ?? 0;
  const end = at[q] ?? 0;
  if (start > 0 && isAlnum(text[start - 1] ?? '')) return false;
  if (end + 1 < text.length && isAlnum(text[end + 1] ?? '')) return false;
  for (let i = p; i < q; i += 1) if ((at[i + 1] ?? 0) - (at[i] ?? 0) - 1 > MAX_GAP) return false;
  return true;
}

const ALNUM = /[\p{L}\p{N}]/u;

/** Whether a character counts as a letter or digit for matching (Unicode letters and numbers). */
export function isAlnum(ch: string): boolean {
  return ALNUM.test(ch);
}

/** Letters and digits of a value, lower-cased (the form matched against the skeleton). */
export function keyOf(value: string): string {
  // Without the positions, and past the last-text memo: every identifier form of every record
  // comes here, most of them short ASCII ids.
  if (!isAscii(value)) return unicodeSkeletonOf(value).skeleton;
  const lower = value.toLowerCase();
  let key = '';
  let run = -1;
  for (let i = 0; i < lower.length; i += 1) {
    const c = lower.charCodeAt(i);
    if ((c >= 48 && c <= 57) || (c >= 97 && c <= 122)) {
      if (run < 0) run = i;
    } else if (run >= 0) {
      key += lower.slice(run, i);
      run = -1;
    }
  }
  if (run === 0) return lower;
  return run > 0 ? key + lower.slice(run) : key;
}

/**
 * The forms of one identifier value that are looked for in text, each as its lower-cased letters
 * and digits: a name and each of its parts, the digits of a phone or SSN, the ISO part of a date,
 * an id and the bare id of a reference. Forms too short to match safely are left out.
 */
export function identifierKeys(kind: IdentifierKind, raw: string): string[] {
  const value = raw.trim();
  if (value === '') return [];
  const keep = (keys: Iterable<string>, min: number) => [...keys].filter((k) => k.length >= min);
  switch (kind) {
    case 'NAME':
      return keep(nameParts(value).map(keyOf), MIN_NAME_CHARS);
    case 'ADDRESS':
    case 'EMAIL':
      return keep([keyOf(value)], MIN_NAME_CHARS);
    case 'PHONE': {
      let digits = value.replace(/\D/g, '');
      if (digits.length === 11 && digits.startsWith('1')) digits = digits.slice(1);
      return keep([digits], MIN_PHONE_DIGITS);
    }
    case 'SSN':
      return keep([value.replace(/\D/g, '')], MIN_SSN_DIGITS);
    case 'DATE': {
      const iso = /^\d{4}-\d{2}(?:-\d{2})?/.exec(value)?.[0];
      return iso === undefined ? [] : [keyOf(iso)];
    }
    case 'ID': {
      const ids = new Set([keyOf(value)]);
      const identity = resourceIdentity(value, undefined);
      if (identity !== undefined) ids.add(keyOf(identity.id));
      return keep(ids, MIN_ID_CHARS);
    }
  }
}

/** The whole name, and every part of it split on spaces, hyphens, apostrophes, commas and dots. */
function nameParts(value: string): string[] {
  const parts = new Set<string>([value]);
  for (const token of value.split(/\s+/)) {
    parts.add(token);
    for (const piece of token.split(/[-'’,.]+/)) parts.add(piece);
  }
  return [...parts];
}
