import { isPipelineError } from '@ehrflow/errors';
import { describe, expect, it } from 'vitest';
import { createContractCache } from './contract-cache.ts';
import { contractJson, memorySchemaSource, withOptionalField } from './testing/fixtures.ts';

const SUBJECT = 'ehr.valid.Patient-value';

function setup() {
  const source = memorySchemaSource({ [SUBJECT]: contractJson('Patient') });
  const compileErrors: { subject: string; version: number }[] = [];
  const contracts = createContractCache({
    source,
    validTopicPrefix: 'ehr.valid.',
    resourceTypes: ['Patient'],
    fillRateWindow: 10,
    onCompileError: (_err, subject, version) => compileErrors.push({ subject, version }),
  });
  return { source, contracts, compileErrors };
}

describe('contract cache', () => {
  it('compiles a contract version once and hands the same mapping to every record', async () => {
    const { contracts } = setup();
    const first = await contracts.forType('Patient');
    expect(first).toMatchObject({
      resourceType: 'Patient',
      topic: 'ehr.valid.Patient',
      subject: SUBJECT,
      version: 1,
    });
    for (let i = 0; i < 5; i++) {
      const again = await contracts.forType('Patient');
      expect(again).toBe(first);
      expect(again.mapping).toBe(first.mapping);
      expect(again.fillRate).toBe(first.fillRate);
    }
  });

  it('rebuilds the mapping when a new version is registered, then reuses that one', async () => {
    const { source, contracts } = setup();
    const v1 = await contracts.forType('Patient');
    source.register(
      SUBJECT,
      withOptionalField(contractJson('Patient'), { name: 'genderCopy', fhirPath: 'gender' }),
    );
    const v2 = await contracts.forType('Patient');
    expect(v2.version).toBe(2);
    expect(v2.mapping).not.toBe(v1.mapping);
    expect(v2.contract.fields.map((f) => f.name)).toContain('genderCopy');
    expect(v1.contract.fields.map((f) => f.name)).not.toContain('genderCopy');
    expect(await contracts.forType('Patient')).toBe(v2);
  });

  it('keeps the previous version when a new one does not compile, and tries that version only once', async () => {
    const { source, contracts, compileErrors } = setup();
    const v1 = await contracts.forType('Patient');
    source.register(
      SUBJECT,
      withOptionalField(contractJson('Patient'), { name: 'broken', fhirPath: 'name.nosuchelement' }),
    );
    for (let i = 0; i < 3; i++) expect(await contracts.forType('Patient')).toBe(v1);
    expect(compileErrors).toEqual([{ subject: SUBJECT, version: 2 }]);
  });

  it('serves only the configured types and fails on an unregistered subject', async () => {
    const source = memorySchemaSource({});
    const contracts = createContractCache({
      source,
      validTopicPrefix: 'ehr.valid.',
      resourceTypes: ['Patient'],
      fillRateWindow: 10,
    });
    expect(contracts.serves('Patient')).toBe(true);
    expect(contracts.serves('Observation')).toBe(false);
    const err: unknown = await contracts.forType('Patient').catch((e: unknown) => e);
    expect(isPipelineError(err) && err.code).toBe('SCHEMA_NOT_REGISTERED');
  });
});
