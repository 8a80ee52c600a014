import { describe, expect, it } from 'vitest';
import { createPatientDirectory, type IdentifierPair } from './patient-directory.ts';

const JANE: IdentifierPair[] = [
  ['NAME', 'Jane Quillon'],
  ['PHONE', '555-0100'],
  ['ID', 'MRN-4471902'],
];

describe('createPatientDirectory', () => {
  it('recalls what was remembered, exactly, including values with control and non-BMP characters', () => {
    const directory = createPatientDirectory(10);
    const odd: IdentifierPair[] = [
      ['ADDRESS', 'a\u0000b\u0001c'],
      ['NAME', '𝒥ane'],
      ['ID', 'x'.repeat(70_000)],
      ['EMAIL', ''],
    ];
    directory.remember('s/Patient/1', [...JANE, ...odd]);
    expect(directory.snapshot?.('s/Patient/1')).toEqual({ values: [...JANE, ...odd] });
    expect(directory.recall('s/Patient/1')?.replace('Quillon called 555 0100')).toBe('[NAME] called [PHONE]');
    expect(directory.recall('s/Patient/2')).toBeUndefined();
  });

  it('keeps earlier values when a patient is remembered again, without duplicates', () => {
    const directory = createPatientDirectory(10);
    directory.remember('p', JANE);
    directory.remember('p', [
      ['NAME', 'Jane Marlowe'],
      ['PHONE', '555-0100'],
    ]);
    const values = (directory.snapshot?.('p') as { values: IdentifierPair[] }).values;
    expect(values).toEqual([JANE[0], JANE[2], ['NAME', 'Jane Marlowe'], ['PHONE', '555-0100']]);
    expect(directory.recall('p')?.replace('Quillon, née Marlowe')).toBe('[NAME], née [NAME]');
  });

  it('forgets the least recently remembered patient over its bound', () => {
    const directory = createPatientDirectory(2);
    directory.remember('a', JANE);
    directory.remember('b', JANE);
    directory.remember('a', JANE);
    directory.remember('c', JANE);
    expect(directory.size).toBe(2);
    expect(directory.recall('b')).toBeUndefined();
    expect(directory.recall('a')).toBeDefined();
    expect(directory.recall('c')).toBeDefined();
  });

  it('keeps at most `compiledPatients` matchers, and compiles an evicted one again on recall', () => {
    const directory = createPatientDirectory(100, { compiledPatients: 2 });
    for (const s of ['a', 'b', 'c']) directory.remember(s, JANE);
    const a = directory.recall('a');
    expect(directory.recall('a')).toBe(a);
    directory.recall('b');
    directory.recall('c');
    expect(directory.compiled).toBe(2);
    const again = directory.recall('a');
    expect(again).not.toBe(a);
    expect(again?.replace('Quillon, Jane Quillon')).toBe('[NAME], [NAME]');
    expect(directory.size).toBe(3);
  });

  it('gives the same snapshot object until the patient is remembered again', () => {
    const directory = createPatientDirectory(10);
    directory.remember('p', JANE);
    const first = directory.snapshot?.('p');
    expect(directory.snapshot?.('p')).toBe(first);
    directory.remember('p', [['NAME', 'Jane Marlowe']]);
    expect(directory.snapshot?.('p')).not.toBe(first);
  });

  it('refuses bounds that are not positive integers', () => {
    expect(() => createPatientDirectory(0)).toThrow(RangeError);
    expect(() => createPatientDirectory(10, { compiledPatients: 0 })).toThrow(RangeError);
  });
});
