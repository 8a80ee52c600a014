import { describe, expect, it } from 'vitest';
import { createCanaryMatcher, mergeMatches } from './canary.ts';

describe('createCanaryMatcher', () => {
  const matcher = createCanaryMatcher(['Quillonbeck', '900-47-1234', '1931-04-17', 'Anna Zeta']);

  it('finds a canary case-insensitively and counts it', () => {
    expect(matcher.find('patient QUILLONBECK and quillonbeck')).toEqual([{ index: 0, count: 2 }]);
  });

  it('finds a number with other separators or none', () => {
    expect(matcher.find('ssn 900471234')).toEqual([{ index: 1, count: 1 }]);
    expect(matcher.find('ssn 900 47 1234')).toEqual([{ index: 1, count: 1 }]);
    expect(matcher.find('born 19310417')).toEqual([{ index: 2, count: 1 }]);
  });

  it('finds words with other whitespace between them', () => {
    expect(matcher.find('Anna\n  Zeta')).toEqual([{ index: 3, count: 1 }]);
  });

  it('does not match unrelated text', () => {
    expect(matcher.find('ssn 900-47-1235, born 1931-04-18, Quillon beck')).toEqual([]);
  });

  it('finds a canary inside bytes', () => {
    const bytes = Buffer.concat([Buffer.from([0, 255, 1]), Buffer.from('xxQuillonbeckxx', 'latin1')]);
    expect(matcher.findInBytes(bytes)).toEqual([{ index: 0, count: 1 }]);
  });

  it('refuses a canary that would match everywhere', () => {
    expect(() => createCanaryMatcher(['ab'])).toThrow(RangeError);
  });

  it('merges matches keeping the larger count', () => {
    expect(
      mergeMatches([
        [{ index: 1, count: 1 }],
        [
          { index: 1, count: 3 },
          { index: 0, count: 1 },
        ],
      ]),
    ).toEqual([
      { index: 0, count: 1 },
      { index: 1, count: 3 },
    ]);
  });
});
