import { describe, expect, it } from 'vitest';
import { scrub } from '@ehrflow/scrubber';
import { compilePolicy } from './compile.ts';
import { createPatientDirectory } from './patient-directory.ts';
import { generateCorpus } from './text/corpus.ts';
import { createDeidentifier } from './deidentify.ts';
import { loadPolicy } from './policy.ts';
import { checkSafeHarbor } from './safe-harbor-check.ts';
import {
  JANE,
  RESOURCE_TYPES,
  fhirContracts,
  genericRecord,
  identifyingNote,
  observationRecord,
  patientRecord,
} from './test-fixtures.ts';

const KEY = Buffer.alloc(32, 5);
const now = new Date('2025-06-01T00:00:00Z');
const { contracts } = fhirContracts();
const deidentifier = (name: string) =>
  createDeidentifier({
    policy: compilePolicy(loadPolicy(name), contracts),
    pseudonymKey: KEY,
    now: () => now,
  });
const sh = deidentifier('safe-harbor');

function check(type: string, source: Record<string, unknown>, clean: Record<string, unknown>) {
  const contract = contracts[type];
  if (contract === undefined) throw new Error(type);
  return checkSafeHarbor({ contract, source, clean, now });
}

describe('checkSafeHarbor on redactor output', () => {
  it('passes Safe Harbor output for a Patient and an Observation with an identifying note', () => {
    const patient = patientRecord(JANE);
    expect(check('Patient', patient, sh.deidentify('Patient', patient))).toEqual([]);
    const obs = observationRecord(JANE, 1, identifyingNote(JANE));
    expect(check('Observation', obs, sh.deidentify('Observation', obs))).toEqual([]);
  });

  it.each(RESOURCE_TYPES)('passes Safe Harbor output for %s', (type) => {
    const contract = contracts[type];
    if (contract === undefined) throw new Error(type);
    const source = genericRecord(contract, JANE);
    expect(check(type, source, sh.deidentify(type, source))).toEqual([]);
  });

  it('fails limited-data-set output (dates and five-digit ZIP in clear): it is not Safe Harbor', () => {
    const patient = patientRecord(JANE);
    const rules = check(
      'Patient',
      patient,
      deidentifier('limited-data-set').deidentify('Patient', patient),
    ).map((v) => `${v.rule}:${v.field}`);
    expect(rules).toContain('date_finer_than_year:birthDate');
    expect(rules).toContain('zip_longer_than_three:addressPostalCode');
    expect(rules).toContain('source_phi_in_clean:birthDate');
  });
});

describe('checkSafeHarbor catches planted violations', () => {
  const source = patientRecord(JANE);
  const clean = sh.deidentify('Patient', source);

  it('a source PHI value anywhere, even in a non-PHI field, as a whole word', () => {
    expect(
      check('Patient', source, { ...clean, sourceLocator: `entry for ${JANE.family.toUpperCase()}` }),
    ).toContainEqual({
      rule: 'source_phi_in_clean',
      field: 'sourceLocator',
      sourceField: 'nameFamily',
    });
    expect(check('Patient', source, { ...clean, jobId: `job ${JANE.id}` })).toContainEqual(
      expect.objectContaining({ rule: 'source_phi_in_clean', field: 'jobId' }),
    );
    // a given name inside a longer word is not a hit
    expect(check('Patient', source, { ...clean, sourceLocator: 'Marisolanne' })).toEqual([]);
  });

  it('a date finer than a year in an identifying field, in any spelling', () => {
    for (const value of ['2024-05-01', '2024-05', '05/01/2024', 'May 1', '1st of May', 'May 2024']) {
      expect(check('Patient', source, { ...clean, lastUpdated: value }), value).toContainEqual({
        rule: 'date_finer_than_year',
        field: 'lastUpdated',
      });
    }
    expect(check('Patient', source, { ...clean, lastUpdated: '2024' })).toEqual([]);
  });

  it('a ZIP longer than three digits, a restricted prefix, a ZIP in text', () => {
    expect(check('Patient', source, { ...clean, addressPostalCode: '0213' })).toContainEqual({
      rule: 'zip_longer_than_three',
      field: 'addressPostalCode',
    });
    expect(check('Patient', source, { ...clean, addressPostalCode: '036' })).toContainEqual({
      rule: 'restricted_zip',
      field: 'addressPostalCode',
    });
    expect(check('Patient', source, { ...clean, addressPostalCode: '000' })).toEqual([]);
    const obs = observationRecord(JANE, 1, 'x');
    const cleanObs = sh.deidentify('Observation', obs);
    expect(
      check('Observation', obs, { ...cleanObs, noteText: ['lives in Springfield, IL 62704'] }),
    ).toContainEqual({
      rule: 'zip_longer_than_three',
      field: 'noteText',
    });
  });

  it('an age over 89: birth year, age in text', () => {
    expect(check('Patient', source, { ...clean, birthDate: '1935' })).toContainEqual({
      rule: 'age_over_89',
      field: 'birthDate',
    });
    expect(check('Patient', source, { ...clean, birthDate: '1936' })).toEqual([]);
    expect(check('Patient', source, { ...clean, birthDate: '90+' })).toEqual([]);
    const obs = observationRecord(JANE, 1, 'x');
    const cleanObs = sh.deidentify('Observation', obs);
    expect(check('Observation', obs, { ...cleanObs, noteText: ['a 91-year-old woman'] })).toContainEqual({
      rule: 'age_over_89',
      field: 'noteText',
    });
    expect(check('Observation', obs, { ...cleanObs, noteText: ['an 89 year old woman'] })).toEqual([]);
  });

  it('a field the contract does not classify', () => {
    expect(check('Patient', source, { ...clean, extra: 'x' })).toContainEqual({
      rule: 'unclassified_field',
      field: 'extra',
    });
  });

  it('never reports a value', () => {
    const found = check('Patient', source, {
      ...clean,
      sourceLocator: JANE.family,
      lastUpdated: '2024-05-01',
    });
    expect(JSON.stringify(found)).not.toContain(JANE.family);
    expect(JSON.stringify(found)).not.toContain('2024-05-01');
  });
});

describe('checkSafeHarbor on names in free text', () => {
  // The development split: the held-out split's own misses are reported by deid:eval, not hidden here.
  const notes = generateCorpus({ seed: 11, notes: 40, split: 'dev' });
  const namesOf = (note: (typeof notes)[number]) =>
    note.spans.filter((s) => s.cls === 'NAME').map((s) => note.text.slice(s.start, s.end));

  function cleanNote(text: string) {
    const directory = createPatientDirectory(10);
    const d = createDeidentifier({
      policy: compilePolicy(loadPolicy('safe-harbor'), contracts),
      pseudonymKey: KEY,
      now: () => now,
      directory,
    });
    d.deidentify('Patient', patientRecord(JANE));
    const source = observationRecord(JANE, 1, text);
    return { source, clean: d.deidentify('Observation', source) };
  }

  it('flags a clean record in which a corpus name survives (pattern scrubbing alone)', () => {
    const note = notes.find((n) => namesOf(n).length > 0);
    if (note === undefined) throw new Error('corpus without names');
    const { source, clean } = cleanNote(note.text);
    const leaky = { ...clean, noteText: [scrub(note.text)] };
    const rules = checkSafeHarbor({
      contract: contracts.Observation!,
      source,
      clean: leaky,
      now,
      names: namesOf(note),
    });
    expect(rules).toContainEqual({ rule: 'person_name_in_text', field: 'noteText' });
  });

  it('passes the redactor output of corpus notes: no annotated name survives', () => {
    for (const note of notes) {
      const { source, clean } = cleanNote(note.text);
      const rules = checkSafeHarbor({
        contract: contracts.Observation!,
        source,
        clean,
        now,
        names: namesOf(note),
      });
      expect(rules.filter((r) => r.rule === 'person_name_in_text')).toEqual([]);
    }
  });
});
