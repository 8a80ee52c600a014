import { describe, expect, it } from 'vitest';
import { fieldRuleProblems, readMappingFile, setPath, toFhirId } from './resource-builder.ts';

describe('resource builder', () => {
  it('sets values at dotted and indexed paths, creating what is missing', () => {
    const resource: Record<string, unknown> = { resourceType: 'Claim' };
    setPath(resource, 'patient.reference', 'Patient/p1');
    setPath(resource, 'item[1].sequence', 2);
    setPath(resource, 'item[0].sequence', 1);
    setPath(resource, 'diagnosis[0]', { code: 'J45' });
    expect(resource).toEqual({
      resourceType: 'Claim',
      patient: { reference: 'Patient/p1' },
      item: [{ sequence: 1 }, { sequence: 2 }],
      diagnosis: [{ code: 'J45' }],
    });
  });

  it('makes FHIR ids of at most 64 id characters', () => {
    expect(toFhirId('MSG 00_1/a')).toBe('MSG-00-1-a');
    expect(toFhirId('x'.repeat(80))).toHaveLength(64);
  });

  it('refuses a mapping file that is not JSON with CONFIG_INVALID', () => {
    expect(() => readMappingFile(import.meta.filename, 'X12')).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        message: 'X12 mapping file could not be read as JSON',
      }),
    );
  });

  it('lists the problems of a field rule every format shares', () => {
    const types = ['ST', 'DT'] as const;
    const none = { name: 'sequence', value: undefined };
    expect(fieldRuleProblems('f[0]', { path: 'birthDate', from: 'PID-7', type: 'DT' }, types, none)).toEqual(
      [],
    );
    expect(fieldRuleProblems('f[1]', { path: 'gender', value: 'male', from: 'PID-8' }, types, none)).toEqual([
      'f[1]: exactly one of from, value, template, sequence',
      'f[1]: type must be one of ST, DT',
    ]);
    expect(fieldRuleProblems('f[2]', { path: 'item[x]' }, types, { name: 'sequence', value: true })).toEqual([
      'f[2]: path item[x]',
    ]);
  });
});
