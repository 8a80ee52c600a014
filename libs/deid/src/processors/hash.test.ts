import { describe, expect, it } from 'vitest';
import { hashMethod, hashSettings } from './hash.ts';
import { TEST_KEY, testContext, testField, testScope } from './test-scope.ts';

function hasher(
  field: Parameters<typeof testField>[0],
  contractType = 'Patient',
  rule: { namespace?: string } = {},
) {
  const ctx = testContext({ method: 'hash' as const, ...rule }, testField(field), contractType);
  const process = hashMethod.create(ctx);
  if (process === undefined) throw new Error('no processor');
  return (value: string, key = TEST_KEY) => process(value, testScope({ key }));
}

describe('hash', () => {
  it('links a patient through its logical id and every reference to it, in any contract', () => {
    const ownId = hasher({ name: 'logicalId', fhirPath: 'id', attrs: { fhirType: 'id' } }, 'Patient');
    const patientRef = hasher({ name: 'patientRef', attrs: { referenceTo: 'Patient' } }, 'Observation');
    const pseudonym = ownId('pat-7f3a9c21');
    expect(pseudonym).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(patientRef('Patient/pat-7f3a9c21')).toBe(pseudonym);
    expect(patientRef('https://ehr-b.example.org/fhir/Patient/pat-7f3a9c21/_history/4')).toBe(pseudonym);
    expect(patientRef('Patient/pat-other')).not.toBe(pseudonym);
  });

  it('keeps ids of different resource types apart', () => {
    const observationId = hasher({ name: 'logicalId', fhirPath: 'id' }, 'Observation');
    const patientId = hasher({ name: 'logicalId', fhirPath: 'id' }, 'Patient');
    expect(observationId('x-1')).not.toBe(patientId('x-1'));
  });

  it('normalises business identifiers so the same MRN or SSN from two sites agrees', () => {
    const mrn = hasher({ name: 'identifierMrn' }, 'Patient', { namespace: 'mrn' });
    expect(mrn('MRN-4471902')).toBe(mrn('mrn 4471902'));
    expect(mrn('MRN-4471902')).not.toBe(mrn('MRN-4471903'));
    const ssn = hasher({ name: 'identifierSsn' });
    expect(ssn('000-12-3456')).toBe(ssn('000123456'));
  });

  it('depends on the key and never contains the value', () => {
    const mrn = hasher({ name: 'identifierMrn' });
    expect(mrn('MRN-4471902')).not.toBe(mrn('MRN-4471902', Buffer.alloc(32, 9)));
    expect(mrn('MRN-4471902')).not.toContain('4471902');
  });

  it('infers namespaces from the contract attributes', () => {
    const settings = (field: Parameters<typeof testField>[0], type = 'Encounter') =>
      hashSettings(testContext({ method: 'hash' }, testField(field), type));
    expect(
      settings({ name: 'encounterRef', fhirPath: 'id', attrs: { referenceTo: 'Encounter' } }),
    ).toMatchObject({
      namespace: 'ref:Encounter',
      normalize: 'reference',
    });
    expect(settings({ name: 'identifierValue' })).toMatchObject({
      namespace: 'Encounter.identifierValue',
      normalize: 'identifier',
    });
  });

  it('refuses a reference it cannot read, naming the field only', () => {
    const ref = hasher({ name: 'patientRef', attrs: { referenceTo: 'Patient' } }, 'Observation');
    expect(() => ref('not a reference!')).toThrow(/field patientRef: expected a FHIR reference/);
  });

  it('needs a string field', () => {
    const problems = hashMethod.check(
      testContext({ method: 'hash' }, testField({ name: 'n', avroType: 'double' })),
    );
    expect(problems.join()).toMatch(/method hash needs a string or array of strings, field is double/);
  });
});
