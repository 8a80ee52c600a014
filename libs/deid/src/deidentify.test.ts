import { describe, expect, it } from 'vitest';
import { parseAvro } from '@ehrflow/contracts';
import { encryptField, createKeyring } from '@ehrflow/phi';
import { deriveCleanSchema } from './clean-schema.ts';
import { compilePolicy } from './compile.ts';
import { createDeidentifier } from './deidentify.ts';
import { createPatientDirectory } from './patient-directory.ts';
import { loadPolicy, parsePolicy } from './policy.ts';
import {
  JANE,
  RESOURCE_TYPES,
  fhirContracts,
  genericRecord,
  identifyingNote,
  observationRecord,
  patientRecord,
  type Person,
} from './test-fixtures.ts';

const KEY = Buffer.alloc(32, 3);
const NOW = () => new Date('2025-06-01T00:00:00Z');
const { contracts, schemas } = fhirContracts();
const safeHarbor = compilePolicy(loadPolicy('safe-harbor'), contracts);
const sh = createDeidentifier({ policy: safeHarbor, pseudonymKey: KEY, now: NOW });
/** Contract defaults only: dateShift stays dateShift. */
const defaults = compilePolicy(
  parsePolicy({ name: 'contract-defaults', version: '1', contracts: {} }, 'test'),
  contracts,
);
const byDefaults = createDeidentifier({ policy: defaults, pseudonymKey: KEY, now: NOW });

const DAY = 86_400_000;

describe('deidentify under Safe Harbor', () => {
  it('drops, hashes and generalises the Patient fields and stamps the policy', () => {
    const clean = sh.deidentify('Patient', patientRecord(JANE));
    for (const dropped of [
      'identifierSsn',
      'nameFamily',
      'nameGiven',
      'telecomPhone',
      'telecomEmail',
      'addressLine',
      'addressCity',
    ]) {
      expect(clean).not.toHaveProperty(dropped);
    }
    expect(clean).toMatchObject({
      birthDate: '1961',
      addressPostalCode: '021',
      lastUpdated: '2024',
      addressState: 'MA',
      gender: 'female',
      deidPolicy: 'safe-harbor',
      deidPolicyVersion: '1.0.0',
    });
    expect(clean.logicalId).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(clean.patientRef).toBe(clean.logicalId);
    expect(clean.identifierMrn).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });

  it('produces records that match the derived clean schema, for every contract', () => {
    for (const type of RESOURCE_TYPES) {
      const contract = contracts[type];
      if (contract === undefined) throw new Error(type);
      const schema = parseAvro(deriveCleanSchema(schemas[type], safeHarbor.contract(type), safeHarbor), type);
      const clean = sh.deidentify(type, genericRecord(contract, JANE));
      expect(schema.isValid(clean), type).toBe(true);
    }
  });

  it('links the same patient from two sites through the pseudonyms', () => {
    const siteB: Person = { ...JANE, sourceId: 'site-b', mrn: 'mrn 4471902' };
    const a = sh.deidentify('Patient', patientRecord(JANE));
    const b = sh.deidentify('Patient', { ...patientRecord(siteB), recordId: 'b'.repeat(32) });
    expect(b.sourceId).toBe('site-b');
    expect(b.logicalId).toBe(a.logicalId);
    expect(b.identifierMrn).toBe(a.identifierMrn);
    const obs = sh.deidentify('Observation', observationRecord(siteB, 1, 'ok'));
    expect(obs.patientRef).toBe(a.patientRef);
  });

  it('withholds the free text of a record whose patient is not known (default-deny)', () => {
    const clean = sh.deidentify('Patient', patientRecord(JANE));
    expect(clean).not.toHaveProperty('noteText');
    const withheld: string[] = [];
    const noDirectory = createDeidentifier({
      policy: safeHarbor,
      pseudonymKey: KEY,
      now: NOW,
      onFreeTextWithheld: (type, field) => withheld.push(`${type}.${field}`),
    });
    const obs = noDirectory.deidentify('Observation', observationRecord(JANE, 1, identifyingNote(JANE)));
    expect(obs.noteText).toEqual(['[WITHHELD]']);
    expect(obs.valueString).toBe('[WITHHELD]');
    expect(withheld.sort()).toEqual(['Observation.noteText', 'Observation.valueString']);
    // Blank text has nothing to withhold; the rest of the record is de-identified as usual.
    const blank = noDirectory.deidentify('Observation', observationRecord(JANE, 2, ' '));
    expect(blank.noteText).toEqual([' ']);
    expect(blank.patientRef).toBe(clean.patientRef);
  });

  it('scrubs notes of a patient the directory knows, with the record own identifiers too', () => {
    const directory = createPatientDirectory(10);
    const deid = createDeidentifier({ policy: safeHarbor, pseudonymKey: KEY, now: NOW, directory });
    deid.deidentify('Patient', patientRecord(JANE));
    const obs = deid.deidentify('Observation', observationRecord(JANE, 1, identifyingNote(JANE)));
    const text = JSON.stringify(obs);
    for (const value of [JANE.id, JANE.mrn, JANE.family, ...JANE.given, JANE.line, JANE.city, JANE.email]) {
      expect(text).not.toContain(value);
    }
    expect(text).not.toContain('(555) 010-4477');
    expect(obs.noteText).toEqual([
      expect.stringMatching(/^Pt \[NAME\] \[NAME\] \(MRN \[ID\]\) seen on \[DATE\]/),
    ]);
  });

  it('refuses a PHI field that is still encrypted', () => {
    const ring = createKeyring([['k1', Buffer.alloc(32, 1)]]);
    const record = patientRecord(JANE, { nameFamily: encryptField(ring, JANE.family) });
    expect(() => sh.deidentify('Patient', record)).toThrow(/field nameFamily: PHI field is still encrypted/);
  });

  it('leaves out fields the contract does not know and fills absent ones with null or []', () => {
    const record: Record<string, unknown> = { ...patientRecord(JANE), secretNewField: JANE.ssn };
    delete record.addressPostalCode;
    delete record.nameGiven;
    const clean = sh.deidentify('Patient', record);
    expect(clean).not.toHaveProperty('secretNewField');
    expect(clean.addressPostalCode).toBeNull();
  });
});

describe('deidentify with a patient directory', () => {
  const note = `${JANE.given[0] ?? ''} ${JANE.family} tolerated the draw; ${JANE.city} clinic.`;

  it('publishes notes of other records once the Patient was seen, without the patient names', () => {
    const withheld: string[] = [];
    const directory = createPatientDirectory(10);
    const withDirectory = createDeidentifier({
      policy: safeHarbor,
      pseudonymKey: KEY,
      now: NOW,
      directory,
      onFreeTextWithheld: (_type, field) => withheld.push(field),
    });
    expect(withDirectory.deidentify('Observation', observationRecord(JANE, 1, note)).noteText).toEqual([
      '[WITHHELD]',
    ]);
    withDirectory.deidentify('Patient', patientRecord(JANE));
    expect(directory.size).toBe(1);
    const obs = withDirectory.deidentify('Observation', observationRecord(JANE, 1, note));
    expect(obs.noteText).toEqual(['[NAME] [NAME] tolerated the draw; [ADDRESS] clinic.']);
    // Another patient, or the same logical id at another source, is not known: withheld.
    const other = withDirectory.deidentify(
      'Observation',
      observationRecord({ ...JANE, id: 'pat-other' }, 2, note),
    );
    const elsewhere = withDirectory.deidentify(
      'Observation',
      observationRecord({ ...JANE, sourceId: 'site-b' }, 3, note),
    );
    expect(other.noteText).toEqual(['[WITHHELD]']);
    expect(elsewhere.noteText).toEqual(['[WITHHELD]']);
    expect(withheld.filter((f) => f === 'noteText')).toHaveLength(3);
  });

  it('names the directory subject by source and patient', () => {
    expect(sh.directorySubject('Patient', patientRecord(JANE))).toBe(`site-a/Patient/${JANE.id}`);
    expect(sh.directorySubject('Observation', observationRecord(JANE, 1, 'x'))).toBe(
      `site-a/Patient/${JANE.id}`,
    );
    expect(
      sh.directorySubject('Observation', observationRecord(JANE, 1, 'x', { patientRef: null })),
    ).toBeUndefined();
    expect(
      sh.directorySubject('Observation', observationRecord(JANE, 1, 'x', { patientRef: 'Group/g1' })),
    ).toBeUndefined();
  });

  it('keeps earlier identifiers of a patient when a newer Patient version arrives', () => {
    const directory = createPatientDirectory(10);
    const deid = createDeidentifier({ policy: safeHarbor, pseudonymKey: KEY, now: NOW, directory });
    deid.deidentify('Patient', patientRecord(JANE));
    deid.deidentify('Patient', patientRecord(JANE, { nameFamily: 'Newname', addressCity: 'Elsewhere' }));
    const obs = deid.deidentify(
      'Observation',
      observationRecord(JANE, 1, `${JANE.family} now Newname of Elsewhere`),
    );
    expect(obs.noteText).toEqual(['[NAME] now [NAME] of [ADDRESS]']);
  });

  it('forgets the oldest patients beyond its bound', () => {
    const directory = createPatientDirectory(2);
    directory.remember('s/Patient/a', [['NAME', 'Aa']]);
    directory.remember('s/Patient/b', [['NAME', 'Bb']]);
    directory.remember('s/Patient/c', [['NAME', 'Cc']]);
    expect(directory.size).toBe(2);
    expect(directory.recall('s/Patient/a')).toBeUndefined();
    expect(directory.recall('s/Patient/c')?.replace('Cc and Aa')).toBe('[NAME] and Aa');
  });
});

describe('deidentify with contract defaults (date shift)', () => {
  it('shifts every date of one patient by the same days, across records and sources', () => {
    const patient = byDefaults.deidentify('Patient', patientRecord(JANE));
    const obs = byDefaults.deidentify(
      'Observation',
      observationRecord({ ...JANE, sourceId: 'site-b' }, 2, 'ok'),
    );
    const shiftOf = (before: string, after: unknown) =>
      (Date.parse(String(after)) - Date.parse(before)) / DAY;
    const days = shiftOf('2024-05-01T10:00:00Z', patient.lastUpdated);
    expect(days).not.toBe(0);
    expect(Math.abs(days)).toBeLessThanOrEqual(365);
    expect(shiftOf('2024-04-29T09:00:00.000Z', obs.issued)).toBe(days);
    expect(shiftOf('2024-05-02T12:05:00Z', obs.lastUpdated)).toBe(days);
    // birthDate is generalised by the contract default, not shifted
    expect(patient.birthDate).toBe('1961');
  });

  it('gives different patients (generally) different shifts', () => {
    const shifts = new Set<string>();
    for (let i = 0; i < 20; i += 1) {
      const person = { ...JANE, id: `pat-${i}` };
      shifts.add(String(byDefaults.deidentify('Patient', patientRecord(person)).lastUpdated));
    }
    expect(shifts.size).toBeGreaterThan(10);
  });
});

describe('free-text policy', () => {
  it('withholds a text field the policy says to withhold, and reports the reason', () => {
    const policy = compilePolicy(
      parsePolicy(
        { name: 'no-notes', version: '1', contracts: { Observation: { noteText: 'withhold' } } },
        'test',
      ),
      contracts,
    );
    const reasons: string[] = [];
    const directory = createPatientDirectory(10);
    const d = createDeidentifier({
      policy,
      pseudonymKey: KEY,
      now: NOW,
      directory,
      onFreeTextWithheld: (type, field, reason) => reasons.push(`${type}.${field}:${reason}`),
    });
    d.deidentify('Patient', patientRecord(JANE));
    const clean = d.deidentify('Observation', observationRecord(JANE, 1, 'Stable overnight.'));
    expect(clean.noteText).toEqual(['[WITHHELD]']);
    expect(reasons).toEqual(['Observation.noteText:policy']);
  });

  it('removes names of other people from a known patient note under Safe Harbor', () => {
    const directory = createPatientDirectory(10);
    const d = createDeidentifier({ policy: safeHarbor, pseudonymKey: KEY, now: NOW, directory });
    d.deidentify('Patient', patientRecord(JANE));
    const note = 'Spoke with her husband Will Okonkwo-Brandt; Dr. Yevtushenkova agrees.';
    const clean = d.deidentify('Observation', observationRecord(JANE, 1, note));
    expect(JSON.stringify(clean.noteText)).not.toMatch(/Will|Okonkwo|Brandt|Yevtushenkova/);
  });
});
