import { isDictionaryName, isEnglish } from './name-lexicon.ts';
import { vocabulary } from './vocabulary.ts';

/**
 * Names for the evaluation corpus. Two sources:
 * - census names (what the dictionary layer knows), including the ones that are also English
 *   words ("Will", "Hope", "Rose", "Mark", "Bill", "Young", "Brown");
 * - invented names from syllables, kept only when no dictionary and no English word list knows
 *   them. The held-out split uses its own syllables, so its names share nothing with the
 *   development split.
 */

export type Rng = () => number;

/** mulberry32: a small seeded generator; the corpus must be the same for the same seed. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(rng: Rng, list: readonly T[]): T {
  const item = list[Math.floor(rng() * list.length)];
  if (item === undefined) throw new RangeError('pick from an empty list');
  return item;
}

/** Names that are also ordinary words: the hard cases. */
export const WORD_NAMES = {
  given: ['Will', 'Hope', 'Rose', 'Mark', 'Bill', 'Faith', 'Grace', 'Joy', 'Dawn', 'June', 'Frank', 'Art'],
  family: ['Young', 'Brown', 'White', 'Black', 'Green', 'Hall', 'Wood', 'King', 'Rice', 'Rose', 'Hope'],
} as const;

const SYLLABLES = {
  dev: {
    first: [
      'Quil',
      'Zar',
      'Bren',
      'Tav',
      'Or',
      'Vel',
      'Kes',
      'Mir',
      'Dal',
      'Sev',
      'Yor',
      'Fen',
      'Ix',
      'Ulr',
      'Nev',
    ],
    middle: ['a', 'e', 'i', 'o', 'ra', 'li', 'no', 've', ''],
    last: ['lon', 'vek', 'dric', 'ish', 'wyn', 'thar', 'quist', 'zel', 'mont', 'rix', 'dahl', 'sko'],
  },
  heldout: {
    first: ['Pry', 'Gwal', 'Thu', 'Ees', 'Cror', 'Vlo', 'Jhe', 'Skar', 'Wyk', 'Aub', 'Lhu', 'Zhe'],
    middle: ['u', 'y', 'ae', 'oo', 'ri', 'ka', 'sy', ''],
    last: ['bbet', 'naq', 'vorn', 'ghel', 'tusk', 'marr', 'phy', 'lund', 'drey', 'xo', 'kett', 'zund'],
  },
} as const;

export type Split = keyof typeof SYLLABLES;

/** One invented name, absent from every name dictionary and English word list. */
export function inventedName(rng: Rng, split: Split): string {
  const s = SYLLABLES[split];
  for (;;) {
    const name = pick(rng, s.first) + pick(rng, s.middle) + pick(rng, s.last);
    const key = name.toLowerCase();
    if (!isDictionaryName(key) && !isEnglish(key) && key.length >= 4) return name;
  }
}

let census: { given: string[]; family: string[] } | undefined;

/** A census given name or surname (the top of each list, as a real population would show). */
export function censusName(rng: Rng, part: 'given' | 'family'): string {
  if (census === undefined) {
    const v = vocabulary();
    census = {
      given: [...v.givenNames].slice(0, 3000),
      family: [...v.surnames].slice(0, 20_000),
    };
  }
  const key = pick(rng, census[part]);
  return key.charAt(0).toUpperCase() + key.slice(1);
}

/** A person's name parts for a note. */
export interface PersonName {
  readonly given: string;
  readonly family: string;
}

/**
 * A name for one person: census (half), word-names, invented (hyphenated and apostrophe forms
 * mixed in). The held-out split invents its names from its own syllables.
 */
export function personName(rng: Rng, split: Split): PersonName {
  const source = rng();
  const part = (which: 'given' | 'family'): string =>
    source < 0.5
      ? censusName(rng, which)
      : source < 0.62
        ? pick(rng, WORD_NAMES[which])
        : inventedName(rng, split);
  const given = part('given');
  const kind = rng();
  let family = part('family');
  if (kind < 0.08)
    family = `${family}-${split === 'heldout' ? inventedName(rng, split) : censusName(rng, 'family')}`;
  else if (kind < 0.14) family = `O'${family}`;
  else if (kind < 0.18) family = `Mc${family}`;
  return { given, family };
}
