import { describe, expect, it } from 'vitest';
import { compilePolicy, createDeidentifier, loadPolicy, parsePolicy } from '@ehrflow/deid';
import { createKeyring, encryptField } from '@ehrflow/phi';
import { planCleanSchemas } from './clean-schemas.ts';
import {
  createDeletionRedactor,
  planDeletions,
  registerDeletionSchemas,
  verifyDeletionSchemas,
} from './deletions.ts';
import {
  TEST_TYPES,
  contractJson,
  contractOfType,
  fakeRegistry,
  people,
  pipelineSchemaJson,
  resourceOf,
  validRecord,
} from './testing/fixtures.ts';

const topics = { validPrefix: 'ehr.valid.', cleanPrefix: 'ehr.clean.' };
const ring = createKeyring([['k1', Buffer.alloc(32, 1)]]);
const PSEUDONYM_KEY = Buffer.alloc(32, 4);

describe('deletion schemas', () => {
  it('refuses to plan or verify before they are registered, naming the command', async () => {
    const { registry, add } = fakeRegistry();
    await expect(planDeletions(registry, topics)).rejects.toThrow(
      /subject ehr\.valid\.deletions-value has no registered schema; run "node services\/redactor\/src\/cli\.ts register-schemas"/,
    );
    add('ehr.valid.deletions-value', pipelineSchemaJson('deletion.avsc'));
    const plan = await planDeletions(registry, topics);
    expect(plan).toMatchObject({
      validTopic: 'ehr.valid.deletions',
      cleanTopic: 'ehr.clean.deletions',
      validSubject: 'ehr.valid.deletions-value',
      cleanSubject: 'ehr.clean.deletions-value',
      validVersion: 1,
    });
    await expect(verifyDeletionSchemas(registry, plan)).rejects.toMatchObject({
      code: 'SCHEMA_NOT_REGISTERED',
    });
  });

  it('registers both subjects idempotently under the given prefixes, then verifies', async () => {
    const { registry } = fakeRegistry();
    const prefixed = { validPrefix: 't1.valid.', cleanPrefix: 't1.clean.' };
    const first = await registerDeletionSchemas(registry, prefixed, pipelineSchemaJson('deletion.avsc'));
    expect(first.map((r) => [r.subject, r.version, r.changed])).toEqual([
      ['t1.valid.deletions-value', 1, true],
      ['t1.clean.deletions-value', 1, true],
    ]);
    const again = await registerDeletionSchemas(registry, prefixed, pipelineSchemaJson('deletion.avsc'));
    expect(again.every((r) => !r.changed && r.version === 1)).toBe(true);
    await expect(
      verifyDeletionSchemas(registry, await planDeletions(registry, prefixed)),
    ).resolves.toBeUndefined();
  });

  it('refuses a clean deletions subject that differs from the valid one', async () => {
    const { registry, add } = fakeRegistry();
    add('ehr.valid.deletions-value', pipelineSchemaJson('deletion.avsc'));
    add('ehr.clean.deletions-value', { ...pipelineSchemaJson('deletion.avsc'), doc: 'another text' });
    await expect(verifyDeletionSchemas(registry, await planDeletions(registry, topics))).rejects.toThrow(
      /latest ehr\.clean\.deletions-value is not the deletion schema of ehr\.valid\.deletions-value v1/,
    );
  });

  it('refuses a deletion schema with PHI outside logicalId', async () => {
    const { registry, add } = fakeRegistry();
    const schema = pipelineSchemaJson('deletion.avsc');
    const fields = (schema.fields as Record<string, unknown>[]).map((f) =>
      f.name === 'sourceLocator' ? { ...f, phi: 'quasi' } : f,
    );
    add('ehr.valid.deletions-value', { ...schema, fields });
    await expect(planDeletions(registry, topics)).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
  });
});

describe('deletion redactor', () => {
  async function setup(policy = loadPolicy('safe-harbor')) {
    const { registry, add } = fakeRegistry();
    for (const type of TEST_TYPES) add(`ehr.valid.${type}-value`, contractJson(type));
    add('ehr.valid.deletions-value', pipelineSchemaJson('deletion.avsc'));
    const clean = await planCleanSchemas(registry, { types: [...TEST_TYPES], topics, policy });
    const plan = await planDeletions(registry, topics);
    return { clean, plan };
  }

  it('gives every served type the pseudonym its upserts get, under that policy (limited data set too)', async () => {
    const [person] = people(1, 'site-a');
    if (person === undefined) throw new Error('fixture');
    for (const name of ['safe-harbor', 'limited-data-set']) {
      const { clean, plan } = await setup(loadPolicy(name));
      const redactor = createDeletionRedactor({
        plan,
        policy: clean.policy,
        types: [...TEST_TYPES],
        ring,
        pseudonymKey: PSEUDONYM_KEY,
      });
      const deidentifier = createDeidentifier({ policy: clean.policy, pseudonymKey: PSEUDONYM_KEY });
      for (const type of TEST_TYPES) {
        const { plain } = validRecord(type, resourceOf(type, person, 1), person.sourceId, ring);
        const upsert = deidentifier.deidentify(type, plain);
        const deletion = redactor.redact({
          recordId: 'r',
          jobId: 'j',
          sourceId: person.sourceId,
          resourceType: type,
          logicalId: encryptField(ring, String(plain.logicalId)),
          sourceLocator: 'file 1 line 1',
          deleted: true,
          deidPolicy: null,
          deidPolicyVersion: null,
        });
        expect(deletion.logicalId, `${name} ${type}`).toBe(upsert.logicalId);
        expect(deletion.logicalId).not.toBe(plain.logicalId);
        expect([deletion.deidPolicy, deletion.deidPolicyVersion]).toEqual([
          upsert.deidPolicy,
          upsert.deidPolicyVersion,
        ]);
      }
    }
  });

  it('refuses at start a policy whose logicalId rule cannot find the row', async () => {
    const policy = parsePolicy(
      { name: 'no-ids', version: '1', contracts: { Observation: { logicalId: 'drop' } } },
      'no-ids.json',
    );
    const { registry, add } = fakeRegistry();
    for (const type of TEST_TYPES) add(`ehr.valid.${type}-value`, contractJson(type));
    add('ehr.valid.deletions-value', pipelineSchemaJson('deletion.avsc'));
    const compiled = compilePolicy(policy, Object.fromEntries(TEST_TYPES.map((t) => [t, contractOfType(t)])));
    const plan = await planDeletions(registry, topics);
    const err = (() => {
      try {
        createDeletionRedactor({
          plan,
          policy: compiled,
          types: [...TEST_TYPES],
          ring,
          pseudonymKey: PSEUDONYM_KEY,
        });
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    expect(err).toMatchObject({ code: 'POLICY_INVALID' });
    expect((err as Error).message).toContain('contract Observation field logicalId: method drop');
  });
});
