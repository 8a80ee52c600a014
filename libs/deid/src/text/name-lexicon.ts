import {
  ABBREVIATIONS,
  CALENDAR_WORDS,
  CLINICAL_SUFFIXES,
  CLINICAL_WORDS,
  DRUGS,
  EPONYM_HEADS,
  EPONYMS,
  SURNAME_EPONYMS,
} from './clinical-vocabulary.ts';
import type { Token } from './tokens.ts';
import { vocabulary } from './vocabulary.ts';

/**
 * What a word is, for the name layers: a dictionary name, an English word, clinical vocabulary.
 * One look-up per question, on the token's key; hyphenated and apostrophe names are judged by
 * their parts.
 */

const EPONYM_SET = new Set(EPONYMS);
const CLINICAL = new Set([...EPONYMS, ...DRUGS, ...ABBREVIATIONS, ...CLINICAL_WORDS, ...CALENDAR_WORDS]);
const SURNAME_EPONYM = new Set(SURNAME_EPONYMS);
const EPONYM_HEAD = new Set(EPONYM_HEADS);
const MIN_SUFFIX_WORD = 7;

/** Parts of a hyphenated or apostrophe word of at least two letters ("o'brien" → "brien"). */
function partsOf(key: string): string[] {
  return key.split(/[-']/).filter((p) => p.length >= 2);
}

function compound(key: string): boolean {
  return key.includes('-') || key.includes("'");
}

/** What a word is, one bit per question (the answers of one look-up, memoised together). */
const [DICTIONARY, COMMON, GIVEN, ENGLISH, RARE, CLINICAL_WORD] = [1, 2, 4, 8, 16, 32] as const;
/** Distinct words kept in the memo before it starts again (bounded memory). */
const MEMO_SIZE = 50_000;
const memo = new Map<string, number>();

/**
 * Every look-up of a word at once, memoised: notes repeat their words, and each layer asks the
 * same questions about the same word.
 */
function flags(key: string): number {
  let f = memo.get(key);
  if (f !== undefined) return f;
  f =
    (dictionaryName(key) ? DICTIONARY : 0) |
    (commonName(key) ? COMMON : 0) |
    (vocabulary().givenNames.has(key) ? GIVEN : 0) |
    (english(key) ? ENGLISH : 0) |
    (vocabulary().rareEnglish.has(key) ? RARE : 0);
  if (clinicalWord(key, (f & DICTIONARY) !== 0)) f |= CLINICAL_WORD;
  if (memo.size >= MEMO_SIZE) memo.clear();
  memo.set(key, f);
  return f;
}

/** A word to look up: its key, or a token (whose answers are then cached on it). */
export type Word = string | Token;

function flagsOf(word: Word): number {
  if (typeof word === 'string') return flags(word);
  if (word.lex < 0) word.lex = flags(word.key);
  return word.lex;
}

/** A given name or surname of the census lists (whole word, joined, or every part). */
export function isDictionaryName(word: Word): boolean {
  return (flagsOf(word) & DICTIONARY) !== 0;
}

function dictionaryName(key: string): boolean {
  const v = vocabulary();
  if (v.givenNames.has(key) || v.surnames.has(key)) return true;
  if (!compound(key)) return false;
  if (v.surnames.has(key.replace(/[-']/g, ''))) return true;
  const parts = partsOf(key);
  return (
    parts.length > 0 &&
    parts.some((p) => v.givenNames.has(p) || v.surnames.has(p)) &&
    parts.every((p) => v.givenNames.has(p) || v.surnames.has(p) || !v.english.has(p))
  );
}

/** A given name, or one of the most frequent surnames: a name even when it is also a word. */
export function isCommonName(word: Word): boolean {
  return (flagsOf(word) & COMMON) !== 0;
}

function commonName(key: string): boolean {
  const v = vocabulary();
  return v.givenNames.has(key) || v.commonSurnames.has(key);
}

export function isGivenName(word: Word): boolean {
  return (flagsOf(word) & GIVEN) !== 0;
}

/** A common English word (or a compound of them: "follow-up"). */
export function isEnglish(word: Word): boolean {
  return (flagsOf(word) & ENGLISH) !== 0;
}

function english(key: string): boolean {
  const v = vocabulary();
  if (v.english.has(key)) return true;
  if (!compound(key) || /^(?:o|d|l|mc|mac)'/.test(key)) return false;
  const parts = key.split(/[-']/).filter((p) => p !== '');
  return parts.length > 0 && parts.every((p) => v.english.has(p) || p === 's');
}

/** A rare English word (technical, medical): trusted as a word only in lower case. */
export function isRareEnglish(word: Word): boolean {
  return (flagsOf(word) & RARE) !== 0;
}

/**
 * Clinical vocabulary at `i`: an allowlisted word, an eponym that is also a surname when a
 * clinical head word follows ("Wilson disease", "Bell's palsy"), a compound of clinical words
 * ("Child-Pugh"), or a word with a drug-stem or clinical suffix that is in no name list.
 */
export function isClinical(tokens: readonly Token[], i: number): boolean {
  const token = tokens[i];
  if (token === undefined) return false;
  const key = token.key;
  if ((flagsOf(token) & CLINICAL_WORD) !== 0) return true;
  if (SURNAME_EPONYM.has(key)) {
    const next = tokens[i + 1];
    if (next !== undefined && (EPONYM_HEAD.has(next.key) || SURNAME_EPONYM.has(next.key))) return true;
  }
  return false;
}

/** The context-free part of {@link isClinical}. */
function clinicalWord(key: string, dictionary: boolean): boolean {
  if (CLINICAL.has(key)) return true;
  if (compound(key)) {
    const parts = key.split(/[-']/).filter((p) => p !== '');
    if (parts.every((p) => CLINICAL.has(p) || SURNAME_EPONYM.has(p) || EPONYM_HEAD.has(p) || /^\d+$/.test(p)))
      return true;
  }
  if (key.length >= MIN_SUFFIX_WORD && !dictionary) {
    for (const suffix of CLINICAL_SUFFIXES) if (key.endsWith(suffix)) return true;
  }
  return false;
}

/** An eponym (a disease or sign named after a person), which may also be someone's surname. */
export function isEponym(key: string): boolean {
  return EPONYM_SET.has(key) || SURNAME_EPONYM.has(key);
}

/** Whether `key` is a clinical head word after an eponym ("disease", "sign"). */
export function isEponymHead(key: string): boolean {
  return EPONYM_HEAD.has(key);
}

/** Whether a word is in the clinical allowlist itself (the evaluation's "must survive" list). */
export function isAllowlisted(key: string): boolean {
  return CLINICAL.has(key) || SURNAME_EPONYM.has(key);
}
