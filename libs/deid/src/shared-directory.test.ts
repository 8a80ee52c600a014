import { describe, expect, it } from 'vitest';
import { compilePolicy } from './compile.ts';
import { createDeidentifier } from './deidentify.ts';
import { createPatientDirectory } from './patient-directory.ts';
import { loadPolicy } from './policy.ts';
import { createSharedPatientDirectory, type DirectoryStore } from './shared-directory.ts';
import { JANE, fhirContracts, identifyingNote, observationRecord, patientRecord } from './test-fixtures.ts';

const KEY = Buffer.alloc(32, 3);
const NOW = () => new Date('2025-06-01T00:00:00Z');
const policy = compilePolicy(loadPolicy('safe-harbor'), fhirContracts().contracts);

/** A store in a Map, as Redis would hold it: key → set of entries. */
function memoryStore(): DirectoryStore & { data: Map<string, Set<string>>; fail: boolean } {
  const data = new Map<string, Set<string>>();
  const store = {
    data,
    fail: false,
    fetch(keys: readonly string[]) {
      if (store.fail) return Promise.reject(new Error('store down'));
      return Promise.resolve(keys.map((k) => [...(data.get(k) ?? [])]));
    },
    add(entries: ReadonlyMap<string, readonly string[]>) {
      if (store.fail) return Promise.reject(new Error('store down'));
      for (const [k, list] of entries) {
        const set = data.get(k) ?? new Set<string>();
        for (const e of list) set.add(e);
        data.set(k, set);
      }
      return Promise.resolve();
    },
  };
  return store;
}

function replica(store: DirectoryStore) {
  const directory = createSharedPatientDirectory({
    local: createPatientDirectory(100),
    store,
    pseudonymKey: KEY,
  });
  const deid = createDeidentifier({ policy, pseudonymKey: KEY, now: NOW, directory });
  return { directory, deid };
}

describe('createSharedPatientDirectory', () => {
  it('lets another replica (or a restarted one) scrub notes of a patient it never saw, with no PHI in the store', async () => {
    const store = memoryStore();
    const a = replica(store);
    a.deid.deidentify('Patient', patientRecord(JANE));
    await a.directory.flush();
    expect(store.data.size).toBe(1);
    const stored = JSON.stringify([...store.data].map(([k, v]) => [k, [...v]]));
    for (const value of [
      JANE.id,
      JANE.family,
      ...JANE.given,
      JANE.mrn,
      '4471902',
      JANE.city,
      'larkspur',
      JANE.email,
    ]) {
      expect(stored.toLowerCase()).not.toContain(value.toLowerCase());
    }

    const b = replica(store);
    const record = observationRecord(JANE, 1, identifyingNote(JANE));
    expect(b.deid.deidentify('Observation', record).noteText).toEqual(['[WITHHELD]']);
    const subject = b.deid.directorySubject('Observation', record);
    await b.directory.prefetch(subject === undefined ? [] : [subject]);
    const text = JSON.stringify(b.deid.deidentify('Observation', record).noteText);
    expect(text).toMatch(/^\["Pt \[NAME\] \[NAME\] \(MRN \[ID\]\)/);
    for (const value of [JANE.family, ...JANE.given, JANE.city, JANE.line, JANE.email, '4471902']) {
      expect(text).not.toContain(value);
    }
  });

  it('keeps a patient unknown when nobody stored them, and forgets a prefetch at the next one', async () => {
    const store = memoryStore();
    const a = replica(store);
    a.deid.deidentify('Patient', patientRecord(JANE));
    await a.directory.flush();
    const b = replica(store);
    const subject = `site-a/Patient/${JANE.id}`;
    await b.directory.prefetch([subject, 'site-a/Patient/nobody']);
    expect(b.directory.recall(subject)).toBeDefined();
    expect(b.directory.recall('site-a/Patient/nobody')).toBeUndefined();
    await b.directory.prefetch([]);
    expect(b.directory.recall(subject)).toBeUndefined();
  });

  it('does not ask the store about patients it knows itself', async () => {
    const store = memoryStore();
    const a = replica(store);
    a.deid.deidentify('Patient', patientRecord(JANE));
    store.fail = true;
    await expect(a.directory.prefetch([`site-a/Patient/${JANE.id}`])).resolves.toBeUndefined();
    await expect(a.directory.prefetch(['site-a/Patient/other'])).rejects.toThrow('store down');
  });

  it('keeps pending digests when a flush fails, and stores them at the next one', async () => {
    const store = memoryStore();
    const a = replica(store);
    a.deid.deidentify('Patient', patientRecord(JANE));
    store.fail = true;
    await expect(a.directory.flush()).rejects.toThrow('store down');
    store.fail = false;
    await a.directory.flush();
    expect(store.data.size).toBe(1);
    const [entries] = [...store.data.values()];
    expect(entries?.size).toBeGreaterThan(10);
  });
});
