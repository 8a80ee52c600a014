import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PipelineError } from '@ehrflow/errors';
import { isPhi } from './contract.ts';
import { findSchemasDir, loadSchemaSet } from './load.ts';

const PIPELINE_SUBJECTS = [
  'ehr.raw-value',
  'ehr.quarantine-value',
  'ehr.drift-value',
  'ehr.jobs-value',
  'ehr.valid.deletions-value',
  'ehr.clean.deletions-value',
];

describe('the repository schemas', () => {
  const set = loadSchemaSet();

  it('are found by walking up from the module', () => {
    expect(findSchemasDir()).toBe(set.dir);
    expect(set.dir.endsWith('schemas')).toBe(true);
  });

  it('map every pipeline subject to its file with BACKWARD_TRANSITIVE by default', () => {
    for (const subject of PIPELINE_SUBJECTS) {
      const entry = set.subject(subject);
      expect(entry.schema.group).toBe('pipeline');
      expect(entry.compatibility).toBe('BACKWARD_TRANSITIVE');
      expect(entry.schema.name.startsWith('ehrflow.pipeline.')).toBe(true);
    }
  });

  it('document every pipeline field and carry PHI only encrypted or as a keyed hash', () => {
    for (const file of set.files.filter((f) => f.group === 'pipeline')) {
      for (const field of file.contract.fields) {
        expect(field.doc, `${file.file} ${field.path} doc`).toBeTruthy();
        // The encrypted payload, or the deletion's logical id: field-encrypted on ehr.valid.deletions,
        // pseudonymised on ehr.clean.deletions.
        const allowed =
          field.name === 'payload' || (file.file === 'pipeline/deletion.avsc' && field.name === 'logicalId');
        expect(isPhi(field), `${file.file} ${field.path}`).toBe(allowed);
        if (field.name === 'payload') expect(field.attrs.encrypted).toBe(true);
        if (field.name === 'logicalId') expect([field.avroType, field.deid]).toEqual(['string', 'hash']);
      }
    }
  });

  it('give both deletion subjects the one deletion schema', () => {
    expect(set.subject('ehr.valid.deletions-value').schema.file).toBe('pipeline/deletion.avsc');
    expect(set.subject('ehr.clean.deletions-value').schema.file).toBe('pipeline/deletion.avsc');
  });

  it('keep the raw envelope exactly as the shared conventions define it', () => {
    const raw = set.subject('ehr.raw-value').schema.contract;
    expect(raw.fields.map((f) => `${f.name}:${f.avroType}`)).toEqual([
      'recordId:string',
      'jobId:string',
      'sourceId:string',
      'resourceType:string',
      'kind:enum RawKind',
      'format:enum RawFormat',
      'payload:bytes',
      'keyId:string',
      'sourceLocator:string',
      'extractedAt:long',
      'sizeBytes:int',
    ]);
  });

  it('refuse an unknown subject', () => {
    expect(() => set.subject('ehr.nope-value')).toThrow(PipelineError);
  });
});

describe('loadSchemaSet on a broken tree', () => {
  let dir: string;
  const write = (rel: string, text: string): void => {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), text);
  };
  const good = JSON.stringify({
    type: 'record',
    name: 'A',
    fields: [{ name: 'a', type: 'string', phi: 'none' }],
  });

  const setUp = (): void => {
    dir = mkdtempSync(join(tmpdir(), 'ehrflow-schemas-'));
    write(
      'subjects.json',
      JSON.stringify({ subjects: { 'a-value': { file: 'g/a.avsc', compatibility: 'FULL' } } }),
    );
    write('g/a.avsc', good);
  };
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('loads a minimal tree and applies the manifest level', () => {
    setUp();
    write('other/b.avsc', good);
    const set = loadSchemaSet({ dir });
    expect(set.subject('a-value').compatibility).toBe('FULL');
    expect(set.unmapped.map((f) => f.file)).toEqual(['other/b.avsc']);
  });

  it('names the file of a JSON error', () => {
    setUp();
    write('g/broken.avsc', '{ "type": "record", ');
    expect(() => loadSchemaSet({ dir })).toThrow(/g\/broken\.avsc: not valid JSON/);
  });

  it('names the file and the problem of an Avro error', () => {
    setUp();
    write(
      'g/bad.avsc',
      JSON.stringify({ type: 'record', name: 'B', fields: [{ name: 'x', type: 'strng' }] }),
    );
    expect(() => loadSchemaSet({ dir })).toThrow(
      /g\/bad\.avsc: invalid Avro schema: undefined type name: strng/,
    );
  });

  it('names the file of a bad contract attribute', () => {
    setUp();
    write(
      'g/c.avsc',
      JSON.stringify({ type: 'record', name: 'C', fields: [{ name: 'x', type: 'string', required: 'yes' }] }),
    );
    expect(() => loadSchemaSet({ dir })).toThrow(/g\/c\.avsc: field x: attribute required: expected boolean/);
  });

  it('refuses a manifest entry whose file does not exist, and a bad level', () => {
    setUp();
    write('subjects.json', JSON.stringify({ subjects: { 'z-value': { file: 'g/missing.avsc' } } }));
    expect(() => loadSchemaSet({ dir })).toThrow(
      /subject z-value names g\/missing\.avsc, which does not exist/,
    );
    write(
      'subjects.json',
      JSON.stringify({ subjects: { 'a-value': { file: 'g/a.avsc', compatibility: 'SIDEWAYS' } } }),
    );
    expect(() => loadSchemaSet({ dir })).toThrow(/subjects\.json: subjects\.a-value\.compatibility/);
  });

  it('gives every fhir/<Type>.avsc the subject ehr.valid.<Type>-value unless the manifest names it', () => {
    setUp();
    write(
      'fhir/Basic.avsc',
      JSON.stringify({ type: 'record', name: 'Basic', namespace: 'ehrflow.fhir', fields: [] }),
    );
    write(
      'fhir/Device.avsc',
      JSON.stringify({ type: 'record', name: 'Device', namespace: 'ehrflow.fhir', fields: [] }),
    );
    write(
      'subjects.json',
      JSON.stringify({
        subjects: {
          'a-value': { file: 'g/a.avsc' },
          'ehr.valid.Device-value': { file: 'fhir/Device.avsc', compatibility: 'FULL' },
        },
      }),
    );
    const set = loadSchemaSet({ dir });
    expect(set.subject('ehr.valid.Basic-value').schema.file).toBe('fhir/Basic.avsc');
    expect(set.subject('ehr.valid.Basic-value').compatibility).toBe('BACKWARD_TRANSITIVE');
    expect(set.subject('ehr.valid.Device-value').compatibility).toBe('FULL');
    expect(set.subjects.filter((s) => s.schema.file === 'fhir/Device.avsc')).toHaveLength(1);
    expect(set.unmapped).toEqual([]);
  });

  it('refuses a FHIR contract whose file is not named after its record', () => {
    setUp();
    write(
      'fhir/Basik.avsc',
      JSON.stringify({ type: 'record', name: 'Basic', namespace: 'ehrflow.fhir', fields: [] }),
    );
    expect(() => loadSchemaSet({ dir })).toThrow(/fhir\/Basik\.avsc: .*\(fhir\/Basic\.avsc\)/);
  });

  it('refuses a top-level type that is not a record', () => {
    setUp();
    write('g/e.avsc', JSON.stringify({ type: 'enum', name: 'E', symbols: ['A'] }));
    expect(() => loadSchemaSet({ dir })).toThrow(
      /g\/e\.avsc: the top-level type must be a record, found enum/,
    );
  });
});
