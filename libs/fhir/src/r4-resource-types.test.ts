import { describe, expect, it } from 'vitest';
import { isR4ResourceType, r4ResourceTypes } from './r4-resource-types.ts';

describe('r4ResourceTypes', () => {
  it('names the 146 concrete resource types of FHIR 4.0.1', () => {
    // R4 lists 148 codes in its resource-types code system, two of them abstract.
    expect(r4ResourceTypes().size).toBe(146);
  });

  it('knows types with and without a contract', () => {
    for (const type of [
      'Flag',
      'Goal',
      'Immunization',
      'Bundle',
      'Parameters',
      'Patient',
      'Encounter',
      'Observation',
      'MedicationRequest',
      'AllergyIntolerance',
    ])
      expect(isR4ResourceType(type)).toBe(true);
  });

  it('refuses abstract bases, other releases, wrong case and non-types', () => {
    // SubscriptionStatus is R4B/R5; MedicationStatement is R4 (control), Medicationstatement is not.
    for (const name of [
      'Resource',
      'DomainResource',
      'SubscriptionStatus',
      'Medicationstatement',
      'patient',
      'Foo',
      '',
    ])
      expect(isR4ResourceType(name)).toBe(false);
    expect(isR4ResourceType('MedicationStatement')).toBe(true);
  });
});
