import { describe, expect, it } from 'vitest';
import { vocabulary } from './vocabulary.ts';
import { packWords } from './word-table.ts';

describe('packWords', () => {
  it('answers exactly what a Set of the same words answers', () => {
    const words = ['smith', 'o', 'o’brien', 'zoë', 'smithson', 'smit', '', 'ann-marie', 'émile', 'ab'];
    const table = packWords(words);
    const set = new Set(words);
    const probes = [...words, 'smi', 'smithsonian', 'zoe', 'a', 'aa', 'zz', 'Smith', 'ann', '\u0000', 'ém'];
    for (const probe of probes) expect(table.has(probe), probe).toBe(set.has(probe));
    expect(table.size).toBe(set.size);
  });

  it('iterates the distinct words in the order first given (frequency order survives)', () => {
    const table = packWords(['mary', 'patricia', 'linda', 'mary', 'barbara']);
    expect([...table]).toEqual(['mary', 'patricia', 'linda', 'barbara']);
    expect(table.size).toBe(4);
  });

  it('holds nothing when given nothing', () => {
    const table = packWords([]);
    expect(table.has('')).toBe(false);
    expect(table.has('a')).toBe(false);
    expect([...table]).toEqual([]);
  });

  it('finds every word of the name and English lists, and no word of one list missing from another', () => {
    const v = vocabulary();
    const surnames = [...v.surnames];
    expect(surnames.length).toBe(v.surnames.size);
    expect(surnames.slice(0, 2)).toEqual(['smith', 'johnson']);
    // Every 7th word: the whole lists take seconds under the test runner's instrumentation.
    const missing = (words: Iterable<string>, table: { has(w: string): boolean }) =>
      [...words].filter((w, i) => i % 7 === 0 && !table.has(w));
    expect(missing(surnames, v.surnames)).toEqual([]);
    expect(missing(v.english, v.english)).toEqual([]);
    expect(missing(v.rareEnglish, v.rareEnglish)).toEqual([]);
    expect(missing(v.commonSurnames, v.surnames)).toEqual([]);
    expect(v.english.has('quillon')).toBe(false);
    expect(v.rareEnglish.has('quillon')).toBe(true);
  });
});
