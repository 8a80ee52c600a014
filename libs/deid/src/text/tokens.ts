/** Word tokens of a text, with what the name layers need to know about each. */

export type TokenShape = 'title' | 'upper' | 'lower' | 'mixed';

export interface Token {
  readonly start: number;
  readonly end: number;
  readonly text: string;
  /**
   * Lower-case form used for look-ups: possessive `'s` removed, curly apostrophes made straight
   * ("O’Brien's" → "o'brien").
   */
  readonly key: string;
  readonly shape: TokenShape;
  /** First word of a sentence, a line or a list item (capitals there say nothing). */
  readonly sentenceStart: boolean;
  /** A placeholder such as `[NAME]` already written by an earlier pass. */
  readonly placeholder: string | undefined;
  /** Has a letter and is not a placeholder. */
  readonly word: boolean;
  /**
   * The lexicon's answers about `key`, cached by the lexicon on first use (-1: not yet). Both
   * caches exist from construction so that every token keeps one object shape (fast property
   * access in V8).
   */
  lex: number;
  /** Which context word lists hold `key`, cached by the name detector on first use (-1: not yet). */
  context: number;
}

const PLACEHOLDER = /^\[([A-Z]+)\]$/;
const LETTER = /[\p{L}\p{M}]/u;

function isLetter(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90)) return true;
  return c > 127 && LETTER.test(text[i] ?? '');
}

function isDigit(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return c >= 48 && c <= 57;
}

/** End of the token starting at `i` (a word, a number or a placeholder), or `i` when none starts. */
function tokenEnd(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === 91) {
    // "[NAME]": capitals between brackets.
    let j = i + 1;
    while (j < text.length && text.charCodeAt(j) >= 65 && text.charCodeAt(j) <= 90) j += 1;
    return j > i + 1 && text.charCodeAt(j) === 93 ? j + 1 : i;
  }
  if (isLetter(text, i)) {
    // Letters, with inner hyphens and apostrophes before more letters ("O'Brien", "Smith-Jones").
    let j = i + 1;
    for (;;) {
      while (j < text.length && isLetter(text, j)) j += 1;
      const sep = text[j];
      if ((sep === "'" || sep === '’' || sep === '-') && isLetter(text, j + 1)) j += 1;
      else return j;
    }
  }
  if (isDigit(text, i)) {
    // Digits, with inner dots and commas before more digits, and an ordinal suffix ("10th").
    let j = i + 1;
    for (;;) {
      while (j < text.length && isDigit(text, j)) j += 1;
      if ((text[j] === '.' || text[j] === ',') && isDigit(text, j + 1)) j += 1;
      else break;
    }
    const suffix = text.slice(j, j + 2);
    return suffix === 'st' || suffix === 'nd' || suffix === 'rd' || suffix === 'th' ? j + 2 : j;
  }
  return i;
}

/** Splits a text into tokens: words (letters, with inner hyphens and apostrophes), numbers, placeholders. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let previousEnd = 0;
  for (let start = 0; start < text.length;) {
    const end = tokenEnd(text, start);
    if (end === start) {
      start += 1;
      continue;
    }
    const raw = text.slice(start, end);
    const sentenceStart = tokens.length === 0 || startsSentence(text, previousEnd, start);
    const c = raw.charCodeAt(0);
    const placeholder = c === 91 ? PLACEHOLDER.exec(raw)?.[1] : undefined;
    tokens.push({
      start,
      end,
      text: raw,
      key: keyOfWord(raw),
      shape: shapeOf(raw),
      sentenceStart,
      placeholder,
      word: placeholder === undefined && !(c >= 48 && c <= 57),
      lex: -1,
      context: -1,
    });
    previousEnd = end;
    start = end;
  }
  return tokens;
}

/**
 * Whether the characters between two tokens end a sentence: `.`, `!`, `?`, `:`, `;`, a bullet or
 * a new line, then only spaces; or a list dash (" - "). A plain loop: this runs for every token.
 */
function startsSentence(text: string, from: number, to: number): boolean {
  if (to - from <= 1 && text.charCodeAt(from) === 32) return false;
  let i = to - 1;
  while (i >= from && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i -= 1;
  if (i < from) return false;
  const c = text[i];
  if (c === '.' || c === '!' || c === '?' || c === ':' || c === ';' || c === '\n' || c === '•' || c === '*')
    return true;
  if (c === '-') {
    let j = i - 1;
    while (j >= from && text.charCodeAt(j) === 32) j -= 1;
    if (j < from || text[j] === '\n') return true;
  }
  for (let k = from; k < to; k += 1) if (text.charCodeAt(k) === 10) return true;
  return false;
}

/** The look-up form of a word. */
export function keyOfWord(word: string): string {
  const lower = word.toLowerCase();
  if (!lower.includes("'") && !lower.includes('’')) return lower;
  return lower.replace(/’/g, "'").replace(/'s$/, '');
}

function shapeOf(word: string): TokenShape {
  // ASCII words (most of them) by character codes, without allocating.
  let upper = 0;
  let lower = 0;
  let ascii = true;
  for (let i = 0; i < word.length; i += 1) {
    const c = word.charCodeAt(i);
    if (c >= 65 && c <= 90) upper += 1;
    else if (c >= 97 && c <= 122) lower += 1;
    else if (c > 127) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    if (upper === 0) return 'lower';
    if (lower === 0) return upper === 1 ? 'title' : 'upper';
    const first = word.charCodeAt(0);
    return first >= 65 && first <= 90
      ? 'title'
      : first >= 97 && first <= 122
        ? 'mixed'
        : upper > 0
          ? 'title'
          : 'lower';
  }
  const letters = word.replace(/[^\p{L}]/gu, '');
  if (letters === '') return 'lower';
  if (letters === letters.toUpperCase() && letters !== letters.toLowerCase())
    return letters.length === 1 ? 'title' : 'upper';
  if (letters === letters.toLowerCase()) return 'lower';
  // "Smith", "McDonald", "O'Brien", "DeShawn": an upper-case first letter and some lower case.
  return /^\p{Lu}/u.test(letters) ? 'title' : 'mixed';
}

/** Whether a token is a word (has a letter) and not a placeholder. */
export function isWord(token: Token): boolean {
  return token.word;
}
