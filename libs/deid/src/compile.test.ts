import { describe, expect, it } from 'vitest';
import { contractOf } from '@ehrflow/contracts';
import { PipelineError } from '@ehrflow/errors';
import { compilePolicy } from './compile.ts';
import { loadPolicy, parsePolicy } from './policy.ts';
import { fhirContracts } from './test-fixtures.ts';

function compileError(policy: unknown, contracts = fhirContracts().contracts): PipelineError {
  try {
    compilePolicy(parsePolicy(policy, 'test-policy.json'), contracts);
  } catch (err) {
    if (err instanceof PipelineError) return err;
    throw err;
  }
  throw new Error('expected POLICY_INVALID');
}

describe('compilePolicy', () => {
  it('compiles both built-in policies against every FHIR contract', () => {
    const { contracts } = fhirContracts();
    for (const name of ['safe-harbor', 'limited-data-set']) {
      const compiled = compilePolicy(loadPolicy(name), contracts);
      expect([...compiled.contracts.keys()].sort()).toEqual(Object.keys(contracts).sort());
    }
  });

  it('resolves rules in order: policy field, method override, contract default, defaults', () => {
    const compiled = compilePolicy(loadPolicy('safe-harbor'), fhirContracts().contracts);
    const patient = compiled.contract('Patient');
    const byName = new Map(patient.fields.map((f) => [f.name, f]));
    expect(byName.get('birthDate')).toMatchObject({
      method: 'generalize',
      origin: 'policy-field',
      rule: { to: 'birthYear' },
    });
    expect(byName.get('lastUpdated')).toMatchObject({
      method: 'generalize',
      origin: 'policy-method',
      rule: { to: 'year' },
    });
    expect(byName.get('logicalId')).toMatchObject({ method: 'hash', origin: 'contract' });
    expect(byName.get('gender')).toMatchObject({ method: 'keep', origin: 'contract' });
    expect(patient.patientField).toBe('patientRef');
    expect(patient.identifierFields.map((f) => f.name)).toContain('nameFamily');
    expect(patient.identifierFields.find((f) => f.name === 'telecomPhone')?.kind).toBe('PHONE');
  });

  it('fails on a rule for an unknown field, naming policy, contract, field and what was expected', () => {
    const err = compileError({ name: 'p', version: '1', contracts: { Patient: { dateOfBirth: 'drop' } } });
    expect(err.code).toBe('POLICY_INVALID');
    expect(err.message).toContain('de-identification policy p (test-policy.json) is invalid');
    expect(err.message).toContain(
      'contract Patient field dateOfBirth: no such top-level field in the contract',
    );
  });

  it('fails on an unknown contract, listing the known ones', () => {
    const err = compileError({ name: 'p', version: '1', contracts: { Patients: { nameFamily: 'drop' } } });
    expect(err.message).toContain(
      'contract Patients: no such contract (expected one of AllergyIntolerance, CarePlan, CareTeam, Claim, Condition',
    );
  });

  it('fails on an unknown method in a policy', () => {
    const err = compileError({ name: 'p', version: '1', contracts: { Patient: { nameFamily: 'mask' } } });
    expect(err.message).toContain(
      'contract Patient field nameFamily: unknown method "mask" (expected one of drop, hash',
    );
  });

  it('fails on a PHI field with no rule and no contract default', () => {
    const contract = contractOf({
      type: 'record',
      name: 'Thing',
      fields: [
        { name: 'recordId', type: 'string', phi: 'none' },
        { name: 'nickname', type: ['null', 'string'], default: null, phi: 'direct' },
      ],
    });
    const err = compileError({ name: 'p', version: '1', contracts: {} }, { Thing: contract });
    expect(err.message).toContain(
      'contract Thing field nickname: PHI field (class "direct") has no rule in the policy and no deid attribute in the contract; expected one of drop, hash, dateShift, generalize, scrub',
    );
  });

  it('fails on an unknown method in a contract deid attribute', () => {
    const contract = contractOf({
      type: 'record',
      name: 'Thing',
      fields: [{ name: 'nickname', type: 'string', phi: 'direct', deid: 'smudge' }],
    });
    const err = compileError({ name: 'p', version: '1', contracts: {} }, { Thing: contract });
    expect(err.message).toContain(
      'contract Thing field nickname: the contract\'s deid attribute "smudge" is not a known method',
    );
  });

  it('drops unclassified fields by default and refuses to keep them', () => {
    const contract = contractOf({
      type: 'record',
      name: 'Thing',
      fields: [
        { name: 'recordId', type: 'string', phi: 'none' },
        { name: 'mystery', type: ['null', 'string'], default: null },
      ],
    });
    const compiled = compilePolicy(parsePolicy({ name: 'p', version: '1', contracts: {} }, 'p'), {
      Thing: contract,
    });
    expect(compiled.contract('Thing').fields.find((f) => f.name === 'mystery')).toMatchObject({
      method: 'drop',
      origin: 'default-deny',
    });
    const err = compileError(
      { name: 'p', version: '1', allowPhiInClear: true, contracts: { Thing: { mystery: 'keep' } } },
      { Thing: contract },
    );
    expect(err.message).toContain('keep is not allowed on an unclassified field');
  });

  it('refuses keep on PHI unless the policy is a limited data set', () => {
    const err = compileError({ name: 'p', version: '1', contracts: { Patient: { nameFamily: 'keep' } } });
    expect(err.message).toContain(
      'contract Patient field nameFamily: keep would publish a "direct" PHI field in clear',
    );
    const lds = compilePolicy(
      parsePolicy(
        { name: 'p', version: '1', allowPhiInClear: true, contracts: { Patient: { birthDate: 'keep' } } },
        'p',
      ),
      fhirContracts().contracts,
    );
    expect(lds.contract('Patient').fields.find((f) => f.name === 'birthDate')?.method).toBe('keep');
  });

  it('refuses methods that do not fit the field type', () => {
    const err = compileError({
      name: 'p',
      version: '1',
      contracts: { Observation: { valueQuantityValue: 'hash', codeCode: 'generalize' } },
    });
    expect(err.message).toContain(
      'contract Observation field valueQuantityValue: method hash needs a string or array of strings, field is double',
    );
    expect(err.message).toContain(
      'contract Observation field codeCode: generalize cannot tell what the field holds',
    );
    expect(err.context.problems).toBe(2);
  });

  it('answers UNKNOWN_RESOURCE_TYPE for a type it was not compiled for', () => {
    const compiled = compilePolicy(loadPolicy('safe-harbor'), fhirContracts().contracts);
    expect(() => compiled.contract('NutritionOrder')).toThrow(/was not compiled for contract NutritionOrder/);
  });
});
