import { describe, expect, it } from 'vitest';
import { RESTRICTED_ZIP3 } from '../restricted-zip.ts';
import { generalizeMethod, generalizeZip, inferTarget } from './generalize.ts';
import { testContext, testField, testScope } from './test-scope.ts';

const HHS_RESTRICTED = [
  '036',
  '059',
  '063',
  '102',
  '203',
  '556',
  '692',
  '790',
  '821',
  '823',
  '830',
  '831',
  '878',
  '879',
  '884',
  '890',
  '893',
];

function processor(to: 'year' | 'birthYear' | 'zip3' | 'age', name = 'x', avroType = 'string') {
  const process = generalizeMethod.create(
    testContext({ method: 'generalize', to }, testField({ name, avroType })),
  );
  if (process === undefined) throw new Error('no processor');
  return process;
}

describe('generalize zip3', () => {
  it.each(HHS_RESTRICTED)('turns restricted prefix %s into 000, with and without ZIP+4', (prefix) => {
    expect(generalizeZip(`${prefix}42`)).toBe('000');
    expect(generalizeZip(`${prefix}42-1234`)).toBe('000');
    expect(generalizeZip(`${prefix}421234`)).toBe('000');
  });

  it('holds exactly the 17 HHS prefixes', () => {
    expect([...RESTRICTED_ZIP3].sort()).toEqual([...HHS_RESTRICTED].sort());
  });

  it('keeps the first three digits of other ZIPs', () => {
    expect(generalizeZip('02139')).toBe('021');
    expect(generalizeZip('02139-4307')).toBe('021');
    expect(generalizeZip(' 90210 ')).toBe('902');
    // neighbours of restricted prefixes are not restricted
    expect(generalizeZip('03742')).toBe('037');
    expect(generalizeZip('89442')).toBe('894');
  });

  it('suppresses anything that is not a five- or nine-digit ZIP', () => {
    for (const odd of ['2139', '021', 'SW1A 1AA', '0213', '021390', 'abcde', '']) {
      expect(generalizeZip(odd)).toBe('000');
    }
  });

  it('works through the method processor', () => {
    expect(processor('zip3')('05901', testScope())).toBe('000');
    expect(processor('zip3')('05801', testScope())).toBe('058');
  });
});

describe('generalize age and birth year', () => {
  it('keeps 89 and caps 90 (the boundary)', () => {
    const age = processor('age', 'age', 'int');
    expect(age(89, testScope())).toBe('89');
    expect(age(89.9, testScope())).toBe('89');
    expect(age(90, testScope())).toBe('90+');
    expect(age(104, testScope())).toBe('90+');
    expect(age('90', testScope())).toBe('90+');
    expect(age(0, testScope())).toBe('0');
  });

  it('refuses a value that is not an age, naming the field and not the value', () => {
    const age = processor('age', 'patientAge', 'int');
    expect(() => age('ninety', testScope())).toThrow(/field patientAge: expected a non-negative age/);
    expect(() => age(-1, testScope())).toThrow(/CONTRACT_VIOLATION|expected/);
  });

  it('publishes a birth year only while the year alone cannot mean over 89', () => {
    const birth = processor('birthYear', 'birthDate');
    const now = new Date('2025-06-01T00:00:00Z');
    expect(birth('1936-12-31', testScope({ now }))).toBe('1936'); // at most 89 in 2025
    expect(birth('1935-12-31', testScope({ now }))).toBe('90+'); // could be 90 in 2025
    expect(birth('1935', testScope({ now }))).toBe('90+');
    expect(birth('1936-01', testScope({ now }))).toBe('1936');
    expect(birth('1901-05-05', testScope({ now }))).toBe('90+');
  });

  it('turns dates into years, keeping nothing finer', () => {
    const year = processor('year', 'lastUpdated');
    expect(year('2024-05-01T10:00:00Z', testScope())).toBe('2024');
    expect(year('2024-05', testScope())).toBe('2024');
    expect(year('2024', testScope())).toBe('2024');
    expect(() => year('05/01/2024', testScope())).toThrow(/field lastUpdated: expected a FHIR date/);
  });
});

describe('inferTarget', () => {
  it('reads the target from the FHIR type and the name', () => {
    expect(inferTarget({ name: 'birthDate', attrs: { fhirType: 'date' } })).toBe('birthYear');
    expect(inferTarget({ name: 'issued', attrs: { fhirType: 'instant' } })).toBe('year');
    expect(inferTarget({ name: 'addressPostalCode', attrs: {} })).toBe('zip3');
    expect(inferTarget({ name: 'patientAge', attrs: {} })).toBe('age');
    expect(inferTarget({ name: 'codeCode', attrs: {} })).toBeUndefined();
  });

  it('makes check() ask for "to" when it cannot infer', () => {
    const problems = generalizeMethod.check(
      testContext({ method: 'generalize' }, testField({ name: 'codeCode' })),
    );
    expect(problems.join()).toMatch(/expected "to": year, birthYear, zip3 or age/);
  });
});
