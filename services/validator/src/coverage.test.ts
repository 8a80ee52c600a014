import { contractOf } from '@ehrflow/contracts';
import { describe, expect, it } from 'vitest';
import { carriedBy, elementPathOf, elementPaths } from './coverage.ts';
import { contractJson } from './testing/fixtures.ts';

describe('coverage', () => {
  it('lists the leaf element paths of a resource, arrays flattened, never a value', () => {
    const paths = elementPaths({
      resourceType: 'Observation',
      id: 'obs-1',
      code: {
        coding: [
          { system: 'http://loinc.org', code: '85354-9' },
          { code: 'x', display: 'CANARY' },
        ],
      },
      component: [{ valueQuantity: { value: 120 } }],
      extension: [{ url: 'urn:x', 'CANARY-VALUE-AS-KEY': true }],
    });
    expect([...paths].sort()).toEqual([
      'code.coding.code',
      'code.coding.display',
      'code.coding.system',
      'component.valueQuantity.value',
      'extension.(not an element name)',
      'extension.url',
      'id',
    ]);
    expect(JSON.stringify([...paths])).not.toContain('CANARY');
  });

  it('reads a contract fhirPath as the element path it carries', () => {
    expect(elementPathOf("identifier.where(type.coding.code='MR').value.first()")).toBe('identifier.value');
    expect(elementPathOf("component.where(code.coding.code='8480-6').valueQuantity.value.first()")).toBe(
      'component.valueQuantity.value',
    );
    expect(elementPathOf('referenceRange.first().low.value')).toBe('referenceRange.low.value');
    expect(elementPathOf('name[0].given')).toBe('name.given');
  });

  it("knows what the Observation contract carries, its components' fields included, and what it drops", () => {
    const { carried, dropped } = carriedBy(contractOf(contractJson('Observation'), 'Observation'));
    for (const path of [
      'code.coding.code',
      'valueQuantity.value',
      'component.valueQuantity.value',
      'component.interpretation.coding.code',
      'hasMember.reference',
    ])
      expect(carried.has(path), path).toBe(true);
    expect(carried.has('code.coding.display')).toBe(false);
    expect(dropped).toContain('code.coding.display');
  });
});
