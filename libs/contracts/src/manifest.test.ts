import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatManifestSource } from './cli.ts';
import { PIPELINE_MANIFEST, RESOURCE_TYPES } from './generated/manifest.ts';
import { loadSchemaSet } from './load.ts';
import { buildPipelineManifest, manifestFilePath } from './manifest.ts';

describe('the pipeline manifest', () => {
  const set = loadSchemaSet();

  it('src/generated/manifest.ts is up to date with schemas/ (run `npm run schemas -- gen`)', async () => {
    expect(readFileSync(manifestFilePath(), 'utf8')).toBe(await formatManifestSource(set));
  });

  it('expands its compact form into the manifest the schemas give', () => {
    expect(PIPELINE_MANIFEST).toEqual(buildPipelineManifest(set));
  });

  it('lists one resource type per schemas/fhir/*.avsc, Patient first, the rest by name', () => {
    const files = set.files
      .filter((f) => f.group === 'fhir')
      .map((f) => f.file.slice('fhir/'.length, -'.avsc'.length));
    expect([...RESOURCE_TYPES].sort()).toEqual(files.sort());
    expect(RESOURCE_TYPES[0]).toBe('Patient');
    const rest = RESOURCE_TYPES.slice(1);
    expect(rest).toEqual([...rest].sort((a, b) => a.localeCompare(b)));
  });

  it('names each type its topics and subjects and lists its PHI fields by class', () => {
    const manifest = buildPipelineManifest(set);
    const patient = manifest.resources.find((r) => r.type === 'Patient');
    expect(patient).toMatchObject({
      validTopic: 'ehr.valid.Patient',
      validSubject: 'ehr.valid.Patient-value',
      cleanTopic: 'ehr.clean.Patient',
      cleanSubject: 'ehr.clean.Patient-value',
    });
    // Every PHI field of the contract is listed under its class, and nothing else is.
    const contract = set.subject('ehr.valid.Patient-value').schema.contract;
    const phi = contract.fields.filter((f) => f.path === f.name && f.phiClass !== 'none').map((f) => f.name);
    expect(
      Object.values(patient?.phi ?? {})
        .flat()
        .sort(),
    ).toEqual(phi.sort());
    expect(patient?.phi.direct).toContain('nameFamily');
    expect(patient?.phi.direct).not.toContain('recordId');
  });

  it('lists the pipeline topics of schemas/subjects.json', () => {
    expect(PIPELINE_MANIFEST.pipelineTopics.map((t) => t.topic)).toEqual([
      'ehr.raw',
      'ehr.quarantine',
      'ehr.drift',
      'ehr.jobs',
      'ehr.valid.deletions',
      'ehr.clean.deletions',
    ]);
  });
});
