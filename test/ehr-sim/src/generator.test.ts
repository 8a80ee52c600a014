import { describe, expect, it } from 'vitest';
import { uniformPerPatient, type DatasetShape } from './dataset.ts';
import { mrnSystem, ResourceGenerator, SSN_SYSTEM } from './generator.ts';
import type { Canary } from './identity.ts';
import { NOTE_PEOPLE_CANARIES } from './notes.ts';
import { CLINICAL_TYPES, RESOURCE_TYPES, isSparseType } from './resource-types.ts';

const shape = (seed = 'gen-seed'): DatasetShape => ({
  seed,
  patientsPerSite: 200,
  perPatient: uniformPerPatient(3),
  epochMs: Date.UTC(2025, 0, 1),
  historyMs: 365 * 86_400_000,
  deletedFraction: 0.05,
});

interface PatientJson {
  resourceType: string;
  id: string;
  meta: { versionId: string; lastUpdated: string };
  identifier: { system: string; value: string }[];
  name: { family: string; given: string[] }[];
  telecom: { system: string; value: string }[];
  address: { line: string[]; city: string; state: string; postalCode: string }[];
  birthDate: string;
  gender: string;
}

interface ClinicalJson {
  subject?: { reference: string };
  patient?: { reference: string };
  encounter?: { reference: string };
}

const asPatient = (r: unknown): PatientJson => r as PatientJson;

const noteOf = (r: Record<string, unknown>): string => (r.note as { text: string }[])[0]?.text ?? '';

describe('ResourceGenerator', () => {
  const gen = new ResourceGenerator(shape(), ['site-a', 'site-b']);

  it('builds realistic, clearly fake patients', () => {
    for (let i = 0; i < 50; i++) {
      const p = asPatient(gen.resource('site-a', 'Patient', i));
      expect(p.resourceType).toBe('Patient');
      expect(p.id).toBe(`pat-${i}`);
      const mrn = p.identifier.find((x) => x.system === mrnSystem('site-a'));
      const ssn = p.identifier.find((x) => x.system === SSN_SYSTEM);
      expect(mrn?.value).toMatch(/^E\d{7}$/);
      expect(ssn?.value).toMatch(/^(9\d\d|000)-\d\d-\d{4}$/);
      expect(p.name[0]?.family).toEqual(expect.any(String));
      expect(p.name[0]?.given.length).toBeGreaterThan(0);
      expect(p.address[0]).toMatchObject({
        line: [expect.any(String)],
        city: expect.any(String),
        state: expect.stringMatching(/^[A-Z]{2}$/),
        postalCode: expect.stringMatching(/^000\d\d$/),
      });
      expect(p.telecom.map((t) => t.system)).toEqual(['phone', 'email']);
      expect(p.telecom[0]?.value).toMatch(/555-01\d\d$/);
      expect(p.telecom[1]?.value).toMatch(/@example\.org$/);
      expect(p.birthDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(['female', 'male', 'other', 'unknown']).toContain(p.gender);
      expect(p.meta.versionId).toMatch(/^\d+$/);
      expect(Date.parse(p.meta.lastUpdated)).toBeLessThanOrEqual(Date.UTC(2025, 0, 1));
    }
  });

  it('gives MRNs unique within a site', () => {
    const mrns = new Set(Array.from({ length: 200 }, (_, i) => gen.identity('site-a', i).mrn));
    expect(mrns.size).toBe(200);
  });

  it('writes notes that quote the patient name and MRN', () => {
    // The first seven types carry notes; the US Core and billing types carry none.
    for (const type of CLINICAL_TYPES.filter((t) => t !== 'Encounter' && !isSparseType(t))) {
      for (let i = 0; i < 30; i++) {
        const r = gen.resource('site-a', type, i);
        const who = gen.identity('site-a', Math.floor(i / 3));
        const note = noteOf(r);
        expect(note, `${type}/${i}`).toContain(who.family);
        expect(note, `${type}/${i}`).toContain(who.mrn);
      }
    }
  });

  it('uses every Observation value[x] form', () => {
    const forms = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const obs = gen.resource('site-a', 'Observation', i);
      for (const key of ['valueQuantity', 'valueString', 'valueCodeableConcept'])
        if (key in obs) forms.add(key);
    }
    expect([...forms].sort()).toEqual(['valueCodeableConcept', 'valueQuantity', 'valueString']);
  });

  it('serves blood pressure panels with their values in components, not in value[x]', () => {
    const panels = [];
    for (let i = 0; i < 300; i++) {
      const obs = gen.resource('site-a', 'Observation', i) as unknown as Record<string, unknown> & {
        code: { coding: { code: string }[] };
        component?: {
          code: { coding: { code: string }[] };
          valueQuantity: { value: number; code: string };
        }[];
      };
      if (obs.code.coding[0]?.code === '85354-9') panels.push(obs);
    }
    // About one observation in ten.
    expect(panels.length).toBeGreaterThan(15);
    expect(panels.length).toBeLessThan(60);
    for (const panel of panels) {
      expect(Object.keys(panel).filter((k) => k.startsWith('value'))).toEqual([]);
      expect(panel.component?.map((c) => c.code.coding[0]?.code)).toEqual(['8480-6', '8462-4']);
      const [systolic, diastolic] = panel.component ?? [];
      expect(systolic?.valueQuantity.code).toBe('mm[Hg]');
      expect(systolic?.valueQuantity.value).toBeGreaterThan(diastolic?.valueQuantity.value ?? Infinity);
    }
  });

  it('keeps each resource around 1 to 1.5 KB', () => {
    for (const type of RESOURCE_TYPES) {
      let total = 0;
      const n = Math.min(100, gen.layout('site-a').count(type));
      for (let i = 0; i < n; i++) total += Buffer.byteLength(JSON.stringify(gen.resource('site-a', type, i)));
      const mean = total / n;
      console.log(`${type}: mean ${Math.round(mean)} bytes`);
      // The sparse types vary as real ones do: an organization is small, a claim with items is not.
      expect(mean, type).toBeGreaterThan(isSparseType(type) ? 400 : 700);
      expect(mean, type).toBeLessThan(isSparseType(type) ? 4000 : 1600);
    }
  });

  it('links clinical resources to their patient', () => {
    const obs = gen.resource('site-a', 'Observation', 7) as ClinicalJson;
    expect(obs.subject?.reference).toBe('Patient/pat-2');
    const allergy = gen.resource('site-a', 'AllergyIntolerance', 7) as ClinicalJson;
    expect(allergy.patient?.reference).toBe('Patient/pat-2');
    expect(obs.encounter?.reference).toMatch(/^Encounter\/enc-(6|7|8)$/);
  });

  it('is deterministic per (seed, site, index) and differs across seeds and sites', () => {
    const again = new ResourceGenerator(shape(), ['site-a', 'site-b']);
    const other = new ResourceGenerator(shape('other-seed'), ['site-a']);
    for (const type of RESOURCE_TYPES) {
      expect(JSON.stringify(again.resource('site-a', type, 11))).toBe(
        JSON.stringify(gen.resource('site-a', type, 11)),
      );
      expect(JSON.stringify(other.resource('site-a', type, 11))).not.toBe(
        JSON.stringify(gen.resource('site-a', type, 11)),
      );
      expect(JSON.stringify(gen.resource('site-b', type, 11))).not.toBe(
        JSON.stringify(gen.resource('site-a', type, 11)),
      );
    }
  });

  it('spreads lastUpdated over the history window and deletes only a share of clinical resources', () => {
    let deleted = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < 600; i++) {
      const meta = gen.meta('site-a', 'Observation', i);
      if (meta.deleted) deleted++;
      min = Math.min(min, meta.lastUpdatedMs);
      max = Math.max(max, meta.lastUpdatedMs);
      expect(gen.meta('site-a', 'Patient', i % 200).deleted).toBe(false);
    }
    expect(deleted).toBeGreaterThan(10);
    expect(deleted).toBeLessThan(60);
    expect(max - min).toBeGreaterThan(300 * 86_400_000);
  });

  it('refuses an index outside the data set', () => {
    expect(() => gen.resource('site-a', 'Patient', 200)).toThrow(RangeError);
    expect(() => gen.resource('nowhere', 'Patient', 0)).toThrow(RangeError);
  });

  it('plants canary values in the patient and in every note of that patient', () => {
    const canary: Canary = {
      site: 'site-a',
      patientIndex: 4,
      given: 'Zebulon',
      family: 'Canaryfield',
      ssn: '000-12-3456',
      mrn: 'CANARY-MRN-77',
      phone: '(999) 555-0177',
      email: 'canary.person@example.org',
      line: '1 Canary Row',
      city: 'Canarytown',
      postalCode: '00077',
      birthDate: '1901-02-03',
    };
    const planted = new ResourceGenerator(shape(), ['site-a'], [canary]);
    const p = asPatient(planted.resource('site-a', 'Patient', 4));
    expect(p.name[0]).toMatchObject({ family: 'Canaryfield', given: ['Zebulon', expect.any(String)] });
    expect(p.identifier.map((x) => x.value)).toEqual(['CANARY-MRN-77', '000-12-3456']);
    expect(p.birthDate).toBe('1901-02-03');
    expect(p.telecom.map((t) => t.value)).toEqual(['(999) 555-0177', 'canary.person@example.org']);
    expect(p.address[0]).toMatchObject({ line: ['1 Canary Row'], city: 'Canarytown', postalCode: '00077' });
    for (const type of [
      'Observation',
      'Condition',
      'MedicationRequest',
      'AllergyIntolerance',
      'Procedure',
    ] as const) {
      const note = noteOf(planted.resource('site-a', type, 12));
      for (const value of [
        'Zebulon',
        'Canaryfield',
        '000-12-3456',
        'CANARY-MRN-77',
        '(999) 555-0177',
        'canary.person@example.org',
        '1 Canary Row',
        '1901-02-03',
        // People other than the patient: a relative, a clinician, an invented caller.
        NOTE_PEOPLE_CANARIES.relative,
        NOTE_PEOPLE_CANARIES.clinician,
        NOTE_PEOPLE_CANARIES.caller,
      ]) {
        expect(note, `${type} note`).toContain(value);
      }
    }
    // Other patients are untouched.
    expect(JSON.stringify(planted.resource('site-a', 'Patient', 5))).toBe(
      JSON.stringify(gen.resource('site-a', 'Patient', 5)),
    );
  });
});
