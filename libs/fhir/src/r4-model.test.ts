import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildR4Model } from './r4-gen.ts';
import { FHIR_RESOURCE_TYPES, childOf, choiceTypesOf, elementsOf, isFhirResourceType } from './r4-model.ts';

describe('the R4 element model', () => {
  it('generated/r4-elements.json is what r4-gen.ts builds from the installed definitions', () => {
    const committed = readFileSync(join(import.meta.dirname, 'generated', 'r4-elements.json'), 'utf8');
    expect(committed).toBe(`${JSON.stringify(buildR4Model())}\n`);
  });

  it('knows every R4 resource type, billing ones included, and only R4 ones', () => {
    expect(FHIR_RESOURCE_TYPES).toHaveLength(146);
    for (const type of [
      'Claim',
      'ExplanationOfBenefit',
      'Coverage',
      'Immunization',
      'CareTeam',
      'ImagingStudy',
    ])
      expect(isFhirResourceType(type), type).toBe(true);
    // Added by the definitions package from a later version; not R4.
    expect(isFhirResourceType('SubscriptionStatus')).toBe(false);
    expect(isFhirResourceType('Resource')).toBe(false);
  });

  it('keeps the published elements only (the package adds some of its own to Meta)', () => {
    expect([...(elementsOf('Meta')?.keys() ?? [])].sort()).toEqual(
      ['extension', 'id', 'lastUpdated', 'profile', 'security', 'source', 'tag', 'versionId'].sort(),
    );
  });

  it('describes cardinality, choices and backbone elements', () => {
    expect(childOf('Observation', 'component')).toEqual({
      type: 'Observation.component',
      array: true,
      definition: 'component',
    });
    expect(childOf('Observation.component', 'valueQuantity')).toEqual({
      type: 'Quantity',
      array: false,
      definition: 'value[x]',
    });
    expect(childOf('Observation.component', 'referenceRange')?.type).toBe('Observation.referenceRange');
    expect(childOf('Patient', 'id')?.type).toBe('id');
    expect(childOf('HumanName', 'id')?.type).toBe('string');
    expect(choiceTypesOf('Claim.item', 'serviced')).toEqual(['date', 'Period']);
    expect(childOf('Coverage', 'beneficiary')).toMatchObject({ type: 'Reference', array: false });
  });
});
