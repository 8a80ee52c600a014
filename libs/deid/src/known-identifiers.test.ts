import { describe, expect, it } from 'vitest';
import { compileKnownIdentifiers, identifierKindOf } from './known-identifiers.ts';

describe('compileKnownIdentifiers', () => {
  it('matches whole runs only, whatever the separators and case', () => {
    const known = compileKnownIdentifiers([
      ['ID', 'MRN-4471902'],
      ['PHONE', '+1 (555) 010-4477'],
      ['NAME', 'Ní Bhriain'],
    ]);
    expect(known.replace('mrn 4471902 / MRN4471902 / xMRN4471902 / MRN44719023')).toBe(
      '[ID] / [ID] / xMRN4471902 / MRN44719023',
    );
    expect(known.replace('call 555.010.4477 or 5550104477')).toBe('call [PHONE] or [PHONE]');
    expect(known.replace('NÍ BHRIAIN; Bhriain')).toBe('[NAME]; [NAME]');
  });

  it('lets the longer value win where two overlap', () => {
    const known = compileKnownIdentifiers([
      ['ADDRESS', '42 Larkspur Lane'],
      ['NAME', 'Larkspur'],
    ]);
    expect(known.replace('at 42 Larkspur Lane, Ms Larkspur')).toBe('at [ADDRESS], Ms [NAME]');
  });

  it('does not bridge long gaps between characters', () => {
    const known = compileKnownIdentifiers([['SSN', '000-12-3456']]);
    expect(known.replace('000 12 3456')).toBe('[SSN]');
    expect(known.replace('000      12 3456')).toBe('000      12 3456');
  });

  it('ignores values too short to be safe to match', () => {
    const known = compileKnownIdentifiers([
      ['ID', '42'],
      ['NAME', 'J'],
      ['PHONE', '0100'],
    ]);
    expect(known.size).toBe(0);
    expect(known.replace('J took 42 mg at 0100')).toBe('J took 42 mg at 0100');
  });

  it('reads a reference as its id too', () => {
    const known = compileKnownIdentifiers([['ID', 'Patient/pat-7f3a9c21']]);
    expect(known.replace('see pat-7f3a9c21 and Patient/pat-7f3a9c21')).toBe('see [ID] and [ID]');
  });
});

describe('identifierKindOf', () => {
  it('types fields from FHIR type and name', () => {
    const kind = (name: string, fhirType?: string) =>
      identifierKindOf({ name, attrs: fhirType === undefined ? {} : { fhirType } });
    expect(kind('birthDate', 'date')).toBe('DATE');
    expect(kind('identifierSsn')).toBe('SSN');
    expect(kind('telecomPhone')).toBe('PHONE');
    expect(kind('telecomEmail')).toBe('EMAIL');
    expect(kind('nameGiven')).toBe('NAME');
    expect(kind('addressCity')).toBe('ADDRESS');
    expect(kind('identifierMrn')).toBe('ID');
  });
});

describe('compileKnownIdentifiers: texts one after another', () => {
  it('matches at the right places whatever text came before (long, short, the same, non-ASCII)', () => {
    const own = compileKnownIdentifiers([['ID', 'MRN-4471902']]);
    const theirs = compileKnownIdentifiers([['NAME', 'Quillon']]);
    const long = `${'stable. '.repeat(300)}MRN 4471902, Quillon`;
    const expected = `${'stable. '.repeat(300)}[ID], [NAME]`;
    expect(theirs.replace(own.replace(long))).toBe(expected);
    expect(theirs.replace(own.replace('Quillon ok'))).toBe('[NAME] ok');
    expect(theirs.replace(own.replace('ok Quillon'))).toBe('ok [NAME]');
    expect(theirs.replace(own.replace('Zoë Quillon, mrn 4471902'))).toBe('Zoë [NAME], [ID]');
    expect(theirs.replace(own.replace(long))).toBe(expected);
    expect(own.replace('mrn4471902')).toBe('[ID]');
  });
});
