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
}

/** Words (letters, with inner hyphens and apostrophes), numbers, and placeholders. */
const TOKEN = /\[[A-Z]+\]|\p{L}[\p{L}\p{M}]*(?:['’-]\p{L}[\p{L}\p{M}]*)*|\d+(?:[.,]\d+)*(?:st|nd|rd|th)?/gu;
const SENTENCE_END = /[.!?:;\n•*]\s*$/;
const PLACEHOLDER = /^\[([A-Z]+)\]$/;

/** Splits a text into tokens. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let previousEnd = 0;
  for (const m of text.matchAll(TOKEN)) {
    const start = m.index;
    const raw = m[0];
    const between = start === previousEnd ? '' : text.slice(previousEnd, start);
    const sentenceStart =
      tokens.length === 0 ||
      (between !== '' && between !== ' ' && (SENTENCE_END.test(between) || /^\s*-\s+$/.test(between) || between.includes('\n')));
    const placeholder = raw.charCodeAt(0) === 91 ? PLACEHOLDER.exec(raw)?.[1] : undefined;
    const c = raw.charCodeAt(0);
    tokens.push({
      start,
      end: start + raw.length,
      text: raw,
      key: keyOfWord(raw),
      shape: shapeOf(raw),
      sentenceStart,
      placeholder,
      word: placeholder === undefined && !(c >= 48 && c <= 57),
    });
    previousEnd = start + raw.length;
  }
  return tokens;
}

/** The look-up form of a word. */
export function keyOfWord(word: string): string {
  return word
    .toLowerCase()
    .replace(/’/g, "'")
    .replace(/'s$/, '');
}

function shapeOf(word: string): TokenShape {
  const letters = /^[A-Za-z]+$/.test(word) ? word : word.replace(/[^\p{L}]/gu, '');
  if (letters === '') return 'lower';
  if (letters === letters.toUpperCase() && letters !== letters.toLowerCase()) return letters.length === 1 ? 'title' : 'upper';
  if (letters === letters.toLowerCase()) return 'lower';
  // "Smith", "McDonald", "O'Brien", "DeShawn": an upper-case first letter and some lower case.
  return /^\p{Lu}/u.test(letters) ? 'title' : 'mixed';
}

/** Whether a token is a word (has a letter) and not a placeholder. */
export function isWord(token: Token): boolean {
  return token.word;
}
