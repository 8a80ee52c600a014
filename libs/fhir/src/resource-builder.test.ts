import { describe, expect, it } from 'vitest';
import { readMappingFile, setPath, toFhirId } from './resource-builder.ts';

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
});
