import { createHmac, createSecretKey } from 'node:crypto';
import {
  KIND_PLACEHOLDERS,
  MAX_GAP,
  identifierKeys,
  isAlnum,
  keyOf,
  type IdentifierKind,
  type KnownIdentifiers,
} from './known-identifiers.ts';

/**
 * A patient's identifiers as keyed digests, for a directory shared across replicas (Redis) that
 * must hold no PHI: each matchable form of an identifier (see `identifierKeys`: a name part, the
 * digits of a phone, the ISO part of a date) becomes `KIND:<HMAC-SHA256, 128 bits, base64url>`
 * under a key derived from the pseudonym key. Without that key a digest cannot be recomputed from
 * a guessed name, so the store holds nothing a reader could turn back into an identifier.
 *
 * Matching hashes every run of up to {@link MAX_MATCH_TOKENS} adjacent words of the text (letters
 * and digits only, lower-cased, at most three other characters between two words — the same
 * normalisation as `compileKnownIdentifiers`) and replaces a run whose digest is known by the
 * kind's placeholder; longer runs win over shorter ones they overlap.
 */

/** Derivation label of the digest key: digests are unlinkable to pseudonyms made with the same key. */
const KEY_LABEL = 'ehrflow/deid/patient-directory/v1';
const DIGEST_BYTES = 16;
/** Longest run of words tried against the digests (an address with a unit: "12 N Elm Street Apt 4"). */
export const MAX_MATCH_TOKENS = 8;
/** Longest run tried, in letters and digits (an e-mail address or a full reference fits). */
export const MAX_MATCH_CHARS = 64;
/** Shortest form `identifierKeys` produces; shorter runs are not hashed. */
const MIN_KEY_CHARS = 2;
/**
 * Digests remembered per hasher generation: the words of notes recur (templates, narratives), so
 * most runs are looked up, not hashed. Two generations: when the young one is full it becomes the
 * old one, and a hit in the old one is promoted — recent forms survive, memory stays bounded.
 */
const CACHE_GENERATION_ENTRIES = 16_384;

const KINDS = Object.keys(KIND_PLACEHOLDERS) as IdentifierKind[];
const ENTRY = new RegExp(`^(${KINDS.join('|')}):([A-Za-z0-9_-]{22})$`);
/** No character beyond ASCII (words hold letters and digits only, so no control characters). */
const NON_ASCII = /[^\p{ASCII}]/u;
/** Words of placeholders that earlier passes wrote: never part of a match. */
const PLACEHOLDER_WORDS = new Set([
  ...Object.values(KIND_PLACEHOLDERS).map((p) => p.slice(1, -1)),
  'URL',
  'IP',
  'REDACTED',
  'WITHHELD',
]);

/** Keyed digests of identifier forms. Holds its key in a closure: printing it shows nothing. */
export interface IdentifierHasher {
  /** The digest of one form (letters and digits, lower-cased), base64url. */
  digest(form: string): string;
}

/**
 * Creates a hasher whose key is derived from the pseudonym key (so every replica agrees without a
 * new secret). HMAC-SHA256 per RFC 2104 with the derived key as a `KeyObject`: node:crypto then
 * skips its key-type probe on every HMAC, about 1.9 µs a digest on Node 24 (copying hash states
 * of the padded key per word instead costs about 2.6).
 *
 * @see https://www.rfc-editor.org/rfc/rfc2104
 */
export function createIdentifierHasher(pseudonymKey: Buffer): IdentifierHasher {
  const raw = createHmac('sha256', pseudonymKey).update(KEY_LABEL).digest();
  const key = createSecretKey(raw);
  raw.fill(0);
  let young = new Map<string, string>();
  let old = new Map<string, string>();
  return Object.freeze({
    digest(form: string): string {
      const cached = young.get(form);
      if (cached !== undefined) return cached;
      let found = old.get(form);
      if (found === undefined) {
        found = createHmac('sha256', key)
          .update(form, 'utf8')
          .digest()
          .toString('base64url', 0, DIGEST_BYTES);
      }
      if (young.size >= CACHE_GENERATION_ENTRIES) {
        old = young;
        young = new Map();
      }
      young.set(form, found);
      return found;
    },
  });
}

/** The digest entries (`KIND:digest`, deduplicated) of a patient's identifiers. */
export function hashIdentifiers(
  hasher: IdentifierHasher,
  identifiers: Iterable<readonly [IdentifierKind, string]>,
): string[] {
  const entries = new Set<string>();
  for (const [kind, value] of identifiers) {
    for (const form of identifierKeys(kind, value)) entries.add(`${kind}:${hasher.digest(form)}`);
  }
  return [...entries];
}

/** Whether a string is a well-formed digest entry (what a store may hand back). */
export function isHashedEntry(entry: string): boolean {
  return ENTRY.test(entry);
}

/**
 * A matcher for free text from digest entries; malformed entries are ignored. When two kinds share
 * a digest (a city that is also a family name), the first entry's kind is used.
 */
export function compileHashedIdentifiers(
  hasher: IdentifierHasher,
  entries: Iterable<string>,
): KnownIdentifiers {
  const kinds = new Map<string, IdentifierKind>();
  for (const entry of entries) {
    const m = ENTRY.exec(entry);
    if (m !== null && !kinds.has(m[2] as string)) kinds.set(m[2] as string, m[1] as IdentifierKind);
  }
  if (kinds.size === 0) return { size: 0, replace: (text) => text };
  return { size: kinds.size, replace: (text) => replaceHashed(text, hasher, kinds) };
}

interface Word {
  readonly start: number;
  /** Exclusive. */
  readonly end: number;
  readonly form: string;
  readonly placeholder: boolean;
}

interface Span {
  readonly first: number;
  readonly last: number;
  readonly chars: number;
  readonly kind: IdentifierKind;
}

function replaceHashed(
  text: string,
  hasher: IdentifierHasher,
  kinds: ReadonlyMap<string, IdentifierKind>,
): string {
  const words = wordsOf(text);
  const spans: Span[] = [];
  for (let first = 0; first < words.length; first += 1) {
    let form = '';
    for (let last = first; last < words.length && last < first + MAX_MATCH_TOKENS; last += 1) {
      const word = words[last] as Word;
      if (word.placeholder) break;
      if (last > first && word.start - (words[last - 1] as Word).end > MAX_GAP) break;
      form += word.form;
      if (form.length > MAX_MATCH_CHARS) break;
      if (form.length < MIN_KEY_CHARS) continue;
      const kind = kinds.get(hasher.digest(form));
      if (kind !== undefined) spans.push({ first, last, chars: form.length, kind });
    }
  }
  if (spans.length === 0) return text;
  spans.sort((a, b) => b.chars - a.chars || a.first - b.first);
  const taken = new Uint8Array(words.length);
  const chosen: Span[] = [];
  for (const span of spans) {
    if (taken.subarray(span.first, span.last + 1).includes(1)) continue;
    taken.fill(1, span.first, span.last + 1);
    chosen.push(span);
  }
  chosen.sort((a, b) => a.first - b.first);
  let out = '';
  let at = 0;
  for (const span of chosen) {
    out += text.slice(at, (words[span.first] as Word).start) + KIND_PLACEHOLDERS[span.kind];
    at = (words[span.last] as Word).end;
  }
  return out + text.slice(at);
}

/** Maximal runs of letters and digits, with their lower-cased form. */
function wordsOf(text: string): Word[] {
  const words: Word[] = [];
  let i = 0;
  while (i < text.length) {
    if (!isWordChar(text, i)) {
      i += 1;
      continue;
    }
    const start = i;
    while (i < text.length && isWordChar(text, i)) i += 1;
    const raw = text.slice(start, i);
    const placeholder = text[start - 1] === '[' && text[i] === ']' && PLACEHOLDER_WORDS.has(raw);
    // ASCII words (nearly all) lower-case as a whole; others the way `identifierKeys` does it.
    const form = NON_ASCII.test(raw) ? keyOf(raw) : raw.toLowerCase();
    words.push({ start, end: i, form, placeholder });
  }
  return words;
}

function isWordChar(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)) return true;
  return c > 127 && isAlnum(text[i] ?? '');
}
