import { describe, expect, it } from 'vitest';
import { ODD_DELIMITERS, syntheticInterchange } from './interchange.ts';

describe('syntheticInterchange', () => {
  const options = {
    seed: 3,
    controlNumber: 12,
    groups: [{ kind: '837I' as const, sets: 2, claimsPerSet: 2 }],
  };

  it('gives the same bytes for the same seed and other bytes for another', () => {
    expect(syntheticInterchange(options).bytes.equals(syntheticInterchange(options).bytes)).toBe(true);
    expect(
      syntheticInterchange({ ...options, seed: 4 }).bytes.equals(syntheticInterchange(options).bytes),
    ).toBe(false);
  });

  it('writes a fixed-width ISA whatever the delimiters', () => {
    for (const delimiters of [undefined, ODD_DELIMITERS]) {
      const text = syntheticInterchange({ ...options, ...(delimiters ? { delimiters } : {}) }).bytes.toString(
        'latin1',
      );
      const element = text[3] as string;
      expect(text.slice(0, 106).split(element)).toHaveLength(17);
      expect(text[105]).toBe(delimiters?.segment ?? '~');
    }
  });

  it('switches drift on from the n-th set: an empty CLM02, a ZZZ segment, a code for the amount', () => {
    const text = (kind: 'required-empty' | 'unexpected-segment' | 'code-for-number') =>
      syntheticInterchange({ ...options, drift: { kind, from: 1 } }).bytes.toString('latin1');
    const sets = (t: string) => t.split('ST*837*').slice(1);
    expect(sets(text('required-empty')).map((s) => /CLM\*[^*]+\*\*/.test(s))).toEqual([false, true]);
    expect(sets(text('unexpected-segment')).map((s) => s.includes('ZZZ*'))).toEqual([false, true]);
    expect(sets(text('code-for-number')).map((s) => s.includes('*ABC*'))).toEqual([false, true]);
  });

  it('uses only synthetic names and ids', () => {
    const file = syntheticInterchange(options);
    for (const set of file.sets) for (const c of set.claims) expect(c.memberId.startsWith('SIMM')).toBe(true);
  });
});
