// Adding a resource type is adding its contract: this test adds one (NutritionOrder, a type no
// contract of the repository carries) to a temporary copy of schemas/ and shows that everything the pipeline derives from the
// contracts follows: the manifest (types, topics, subjects, PHI classes), the registry subjects,
// the validator's mapping, the redactor's clean schema, the loader's table and the topic list.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import avro from 'avsc';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildPipelineManifest,
  generateManifestSource,
  loadSchemaSet,
  type RegisteredSchema,
  type SchemaRegistry,
} from '@ehrflow/contracts';
import { loadPolicy } from '@ehrflow/deid';
import { compileMapping } from '@ehrflow/fhir';
import { loadTopicList, resolveTopics } from '@ehrflow/kafka/topics';
import { tableModelOf } from '@ehrflow/loader';
import { planCleanSchemas } from '@ehrflow/redactor';
import { NEW_TYPE, REPO, newContractJson } from './new-contract-fixture.ts';

const TYPE = NEW_TYPE;

describe(`a contract added to a copy of schemas/ (${TYPE})`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ehrflow-new-contract-'));
  cpSync(join(REPO, 'schemas'), dir, { recursive: true });
  const contract = newContractJson();
  writeFileSync(join(dir, 'fhir', `${TYPE}.avsc`), `${JSON.stringify(contract, null, 2)}\n`);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const set = loadSchemaSet({ dir });
  const manifest = buildPipelineManifest(set);
  const before = buildPipelineManifest(loadSchemaSet({ dir: join(REPO, 'schemas') }));

  it('is in the manifest with its topics, subjects and PHI classes', () => {
    expect(before.resourceTypes).not.toContain(TYPE);
    const others = [...before.resourceTypes.filter((t) => t !== 'Patient'), TYPE];
    expect(manifest.resourceTypes).toEqual(['Patient', ...others.sort((a, b) => a.localeCompare(b))]);
    const entry = manifest.resources.find((r) => r.type === TYPE);
    expect(entry).toEqual({
      type: TYPE,
      file: `fhir/${TYPE}.avsc`,
      validTopic: `ehr.valid.${TYPE}`,
      validSubject: `ehr.valid.${TYPE}-value`,
      cleanTopic: `ehr.clean.${TYPE}`,
      cleanSubject: `ehr.clean.${TYPE}-value`,
      phi: { direct: ['logicalId', 'lastUpdated', 'patientRef', 'dateTime'] },
    });
    expect(generateManifestSource(manifest, 'test')).toContain(`'${TYPE}',`);
  });

  it('gets its registry subject without a line in subjects.json', () => {
    expect(readFileSync(join(dir, 'subjects.json'), 'utf8')).not.toContain(TYPE);
    const subject = set.subject(`ehr.valid.${TYPE}-value`);
    expect(subject.schema.file).toBe(`fhir/${TYPE}.avsc`);
    expect(subject.compatibility).toBe('BACKWARD_TRANSITIVE');
  });

  it('compiles to a mapping (from the R4 element model) whose records fit the contract', () => {
    const mapping = compileMapping(set.subject(`ehr.valid.${TYPE}-value`).schema.contract);
    const { record, issues } = mapping.map(
      {
        resourceType: TYPE,
        id: 'no-1',
        meta: { versionId: '2', lastUpdated: '2024-03-01T10:00:00Z' },
        status: 'active',
        patient: { reference: 'Patient/pat-1' },
        dateTime: '2024-03-01T09:00:00Z',
        oralDiet: { type: [{ coding: [{ system: 'http://snomed.info/sct', code: '160670007' }] }] },
      },
      {
        recordId: '0123456789abcdef0123456789abcdef',
        jobId: 'job-1',
        sourceId: 'site-1',
        sourceLocator: 'file 1 line 1',
        contractVersion: 1,
      },
    );
    expect(issues).toEqual([]);
    expect(record).toMatchObject({ status: 'active', oralDietTypeCodes: ['160670007'] });
    expect(avro.Type.forSchema(contract as avro.Schema).isValid(record)).toBe(true);
  });

  it('gets a clean schema from the redactor and a table from the loader', async () => {
    const registry = {
      latest: (subject: string): Promise<RegisteredSchema> =>
        Promise.resolve({
          subject,
          version: 1,
          id: 1,
          text: JSON.stringify(set.subject(subject).schema.json),
        } as RegisteredSchema),
    } as Pick<SchemaRegistry, 'latest'> as SchemaRegistry;
    const plan = await planCleanSchemas(registry, {
      types: manifest.resourceTypes,
      topics: { validPrefix: manifest.validTopicPrefix, cleanPrefix: manifest.cleanTopicPrefix },
      policy: loadPolicy('safe-harbor', { schemasDir: dir }),
    });
    const typePlan = plan.types.get(TYPE);
    expect(typePlan?.cleanSubject).toBe(`ehr.clean.${TYPE}-value`);
    const table = tableModelOf(TYPE, typePlan?.cleanSchema);
    const columns = table.columns.map((c) => c.column);
    expect(columns).toEqual(
      expect.arrayContaining(['patient_ref', 'status', 'date_time', 'oral_diet_type_codes']),
    );
  });

  it('gets its topics from the topic list', () => {
    const topics = resolveTopics(
      loadTopicList(join(REPO, 'deploy', 'local', 'topics.json')),
      manifest.resourceTypes,
    );
    const names = topics.map((t) => t.name);
    expect(names).toContain(`ehr.valid.${TYPE}`);
    expect(names).toContain(`ehr.clean.${TYPE}`);
    expect(names).toHaveLength(
      resolveTopics(loadTopicList(join(REPO, 'deploy', 'local', 'topics.json')), before.resourceTypes)
        .length + 2,
    );
  });
});
