import { describe, expect, it } from 'vitest';
import { canonicalText, contractOf } from '@ehrflow/contracts';
import { CLEAN_NAMESPACE, deriveCleanSchema } from './clean-schema.ts';
import { compilePolicy } from './compile.ts';
import { loadPolicy } from './policy.ts';
import { RESOURCE_TYPES, fhirContracts } from './test-fixtures.ts';

const { contracts, schemas } = fhirContracts();
const safeHarbor = compilePolicy(loadPolicy('safe-harbor'), contracts);
const limited = compilePolicy(loadPolicy('limited-data-set'), contracts);

function cleanContract(policy: typeof safeHarbor, type: string) {
  return contractOf(deriveCleanSchema(schemas[type], policy.contract(type), policy), `clean ${type}`);
}

describe('deriveCleanSchema', () => {
  it.each(RESOURCE_TYPES)('has no PHI-classified field in clear under Safe Harbor: %s', (type) => {
    const clean = cleanContract(safeHarbor, type);
    const inClear = clean.fields.filter((f) => f.phiClass !== 'none').map((f) => f.path);
    expect(inClear).toEqual([]);
    // and every source PHI field is either gone or transformed
    const source = contracts[type];
    if (source === undefined) throw new Error(type);
    for (const field of source.fields.filter((f) => f.phiClass !== 'none')) {
      const out = clean.fields.find((f) => f.name === field.name);
      if (out !== undefined) {
        expect(out.deid, `${type}.${field.name}`).not.toBe('keep');
        expect(out.attrs.sourcePhi).toBe(field.phiClass);
      }
    }
  });

  it('removes dropped fields, turns transformed ones into strings and stamps the policy', () => {
    const schema = deriveCleanSchema(schemas.Patient, safeHarbor.contract('Patient'), safeHarbor);
    const fields = schema.fields as { name: string; type: unknown; default?: unknown }[];
    const names = fields.map((f) => f.name);
    expect(names).not.toContain('nameFamily');
    expect(names).not.toContain('identifierSsn');
    expect(names.slice(-2)).toEqual(['deidPolicy', 'deidPolicyVersion']);
    expect(fields.find((f) => f.name === 'birthDate')?.type).toBe('string');
    expect(fields.find((f) => f.name === 'lastUpdated')).toMatchObject({
      type: ['null', 'string'],
      default: null,
    });
    expect(schema).toMatchObject({
      namespace: CLEAN_NAMESPACE,
      name: 'Patient',
      deidPolicy: 'safe-harbor',
      deidPolicyVersion: '1.0.0',
    });
    const noteField = (
      deriveCleanSchema(schemas.Observation, safeHarbor.contract('Observation'), safeHarbor).fields as {
        name: string;
        type: unknown;
      }[]
    ).find((f) => f.name === 'noteText');
    expect(noteField?.type).toEqual({ type: 'array', items: 'string' });
  });

  it('is deterministic, so registering it twice is a no-op', () => {
    for (const type of RESOURCE_TYPES) {
      const a = canonicalText(deriveCleanSchema(schemas[type], safeHarbor.contract(type), safeHarbor));
      const again = compilePolicy(loadPolicy('safe-harbor'), contracts);
      const b = canonicalText(deriveCleanSchema(schemas[type], again.contract(type), again));
      expect(b).toBe(a);
    }
  });

  it('says honestly which fields a limited data set keeps in clear', () => {
    const clean = cleanContract(limited, 'Patient');
    const inClear = clean.fields.filter((f) => f.phiClass !== 'none').map((f) => f.name);
    expect(inClear.sort()).toEqual(['addressPostalCode', 'birthDate', 'deceasedDateTime', 'lastUpdated']);
    const names = clean.fields.map((f) => f.name);
    for (const gone of [
      'nameFamily',
      'nameGiven',
      'telecomPhone',
      'telecomEmail',
      'addressLine',
      'identifierSsn',
    ]) {
      expect(names).not.toContain(gone);
    }
  });
});
