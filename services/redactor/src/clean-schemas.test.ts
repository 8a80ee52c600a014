import { describe, expect, it } from 'vitest';
import { loadPolicy, parsePolicy } from '@ehrflow/deid';
import { planCleanSchemas, registerCleanSchemas, verifyCleanSchemas } from './clean-schemas.ts';
import { TEST_TYPES, contractJson, fakeRegistry } from './testing/fixtures.ts';

const topics = { validPrefix: 'ehr.valid.', cleanPrefix: 'ehr.clean.' };
const types = [...TEST_TYPES];

function withValidSubjects() {
  const fake = fakeRegistry();
  for (const type of types) fake.add(`ehr.valid.${type}-value`, contractJson(type));
  return fake;
}

describe('clean schemas', () => {
  it('refuses to verify before the command registered them, naming the command', async () => {
    const { registry } = withValidSubjects();
    const plan = await planCleanSchemas(registry, { types, topics, policy: loadPolicy('safe-harbor') });
    await expect(verifyCleanSchemas(registry, plan)).rejects.toThrow(
      /clean subject ehr\.clean\.Patient-value has no registered schema; run "node services\/redactor\/src\/cli\.ts register-schemas --policy safe-harbor"/,
    );
  });

  it('registers idempotently, then verifies', async () => {
    const { registry } = withValidSubjects();
    const plan = await planCleanSchemas(registry, { types, topics, policy: loadPolicy('safe-harbor') });
    const first = await registerCleanSchemas(registry, plan);
    expect(first.map((r) => [r.subject, r.version, r.changed])).toEqual(
      types.map((t) => [`ehr.clean.${t}-value`, 1, true]),
    );
    const again = await registerCleanSchemas(
      registry,
      await planCleanSchemas(registry, { types, topics, policy: loadPolicy('safe-harbor') }),
    );
    expect(again.every((r) => !r.changed && r.version === 1)).toBe(true);
    await expect(verifyCleanSchemas(registry, plan)).resolves.toBeUndefined();
  });

  it('refuses a registered clean schema from another policy', async () => {
    const { registry } = withValidSubjects();
    await registerCleanSchemas(
      registry,
      await planCleanSchemas(registry, { types, topics, policy: loadPolicy('limited-data-set') }),
    );
    const plan = await planCleanSchemas(registry, { types, topics, policy: loadPolicy('safe-harbor') });
    await expect(verifyCleanSchemas(registry, plan)).rejects.toThrow(
      /latest ehr\.clean\.Patient-value is not the clean schema derived from ehr\.valid\.Patient-value v1 under policy safe-harbor 1\.0\.0/,
    );
  });

  it('fails at start on a policy error, with policy, contract, field and expectation', async () => {
    const { registry } = withValidSubjects();
    const policy = parsePolicy(
      { name: 'broken', version: '1', contracts: { Patient: { dateOfBirth: 'generalize' } } },
      'broken.json',
    );
    await expect(
      planCleanSchemas(registry, { types, topics, policy: loadPolicy('safe-harbor') }),
    ).resolves.toBeDefined();
    const err = await planCleanSchemas(registry, { types, topics, policy }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'POLICY_INVALID' });
    expect((err as Error).message).toContain('de-identification policy broken (broken.json) is invalid');
    expect((err as Error).message).toContain(
      'contract Patient field dateOfBirth: no such top-level field in the contract',
    );
  });

  it('fails when a valid subject is missing', async () => {
    const { registry } = fakeRegistry();
    await expect(
      planCleanSchemas(registry, { types, topics, policy: loadPolicy('safe-harbor') }),
    ).rejects.toMatchObject({
      code: 'SCHEMA_NOT_REGISTERED',
    });
  });
});
