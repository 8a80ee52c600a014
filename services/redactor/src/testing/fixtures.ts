/**
 * Test support (not exported from the package): synthetic FHIR resources carrying canary
 * identifiers, mapped onto the contracts with `@ehrflow/fhir` and PHI-encrypted the way the
 * validator does it, plus an in-memory registry. Every value is invented; SSN area 000 and
 * 555-01xx phone numbers are never assigned.
 */
import { readFileSync } from 'node:fs';
import {
  canonicalText,
  contractOf,
  isPhi,
  parseAvro,
  type Contract,
  type RegisteredSchema,
  type SchemaRegistry,
} from '@ehrflow/contracts';
import { PipelineError } from '@ehrflow/errors';
import { compileMapping, recordIdOf, type MappedRecord } from '@ehrflow/fhir';
import { encryptField, partitionKey, sealFields, type Keyring, type SealedValue } from '@ehrflow/phi';

const SCHEMAS = new URL('../../../../schemas/', import.meta.url);

/** Types the tests exercise (the ones whose resources these fixtures build). */
export const TEST_TYPES = ['Patient', 'Observation', 'Condition'] as const;
export type TestType = (typeof TEST_TYPES)[number];

export function contractJson(type: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`fhir/${type}.avsc`, SCHEMAS), 'utf8')) as Record<string, unknown>;
}

export function pipelineSchemaJson(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`pipeline/${file}`, SCHEMAS), 'utf8')) as Record<string, unknown>;
}

/** One synthetic person, seen at one site. */
export interface Person {
  readonly id: string;
  readonly sourceId: string;
  readonly mrn: string;
  readonly ssn: string;
  readonly family: string;
  readonly given: string;
  readonly phone: string;
  readonly email: string;
  readonly birthDate: string;
  readonly line: string;
  readonly city: string;
  readonly zip: string;
}

/** `n` synthetic people at a site; the same `n` at another site is the same person (same ids). */
export function people(count: number, sourceId: string, seed = 'q'): Person[] {
  return Array.from({ length: count }, (_, i) => {
    const tag = `${seed}${String(i).padStart(3, '0')}`;
    return {
      id: `pt-${tag}-7c1e`,
      sourceId,
      mrn: `MRN-${7_700_000 + i}${seed.length}`,
      ssn: `000-${String(10 + (i % 89)).padStart(2, '0')}-${String(1000 + i).padStart(4, '0')}`,
      family: `Zorvath${tag}`,
      given: `Quilla${tag}`,
      phone: `(555) 010-${String(1000 + i).padStart(4, '0')}`,
      email: `quilla.${tag}@example.org`,
      birthDate: i % 5 === 0 ? '1931-02-14' : `19${50 + (i % 40)}-0${1 + (i % 9)}-1${i % 10}`,
      line: `${10 + i} Brackenfold Lane`,
      city: `Wexmoor${tag}`,
      zip: i % 4 === 0 ? '03601' : '02139',
    };
  });
}

/** Every identifier of a person, as leak-scan canaries. */
export function canariesOf(person: Person): { label: string; value: string }[] {
  return [
    { label: `${person.id} family`, value: person.family },
    { label: `${person.id} given`, value: person.given },
    { label: `${person.id} mrn`, value: person.mrn },
    { label: `${person.id} ssn`, value: person.ssn },
    { label: `${person.id} phone`, value: person.phone },
    { label: `${person.id} email`, value: person.email },
    { label: `${person.id} line`, value: person.line },
    { label: `${person.id} city`, value: person.city },
    { label: `${person.id} id`, value: person.id },
    { label: `${person.id} birthDate`, value: person.birthDate },
  ];
}

function note(person: Person): string {
  return (
    `${person.given} ${person.family} (MRN ${person.mrn}, DOB ${person.birthDate}) seen 2024-04-29. ` +
    `Call ${person.phone} / ${person.email}; home ${person.line}, ${person.city}, MA ${person.zip}. ` +
    `Her father, a 94-year-old, attended.`
  );
}

export function patientResource(p: Person): Record<string, unknown> {
  return {
    resourceType: 'Patient',
    id: p.id,
    meta: { versionId: '1', lastUpdated: '2024-05-01T10:00:00Z' },
    identifier: [
      {
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] },
        value: p.mrn,
      },
      { system: 'http://hl7.org/fhir/sid/us-ssn', value: p.ssn },
    ],
    active: true,
    name: [{ family: p.family, given: [p.given] }],
    telecom: [
      { system: 'phone', value: p.phone },
      { system: 'email', value: p.email },
    ],
    gender: 'female',
    birthDate: p.birthDate,
    address: [{ line: [p.line], city: p.city, state: 'MA', postalCode: p.zip, country: 'US' }],
  };
}

export function observationResource(p: Person, n: number): Record<string, unknown> {
  return {
    resourceType: 'Observation',
    id: `obs-${p.id}-${n}`,
    meta: { versionId: '1', lastUpdated: '2024-05-02T12:05:00Z' },
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '718-7' }] },
    subject: { reference: `Patient/${p.id}` },
    effectiveDateTime: '2024-04-29T07:15:00-05:00',
    issued: '2024-04-29T09:00:00.000Z',
    valueString: `Result discussed with ${p.given}.`,
    note: [{ text: note(p) }],
  };
}

export function conditionResource(p: Person, n: number): Record<string, unknown> {
  return {
    resourceType: 'Condition',
    id: `cond-${p.id}-${n}`,
    meta: { versionId: '1', lastUpdated: '2024-05-03T08:00:00Z' },
    clinicalStatus: { coding: [{ code: 'active' }] },
    code: { coding: [{ system: 'http://snomed.info/sct', code: '44054006' }] },
    subject: { reference: `Patient/${p.id}` },
    onsetDateTime: '2015-06-01',
    recordedDate: '2015-07-01',
    note: [{ text: note(p) }],
  };
}

/** A resource of a type, for person `p` (record number `n` for non-Patient types). */
export function resourceOf(type: TestType, p: Person, n: number): Record<string, unknown> {
  switch (type) {
    case 'Patient':
      return patientResource(p);
    case 'Observation':
      return observationResource(p, n);
    case 'Condition':
      return conditionResource(p, n);
  }
}

const contracts = new Map<string, Contract>();
let entry = 0;

/** The contract of a type, read from schemas/fhir. */
export function contractOfType(type: string): Contract {
  let c = contracts.get(type);
  if (c === undefined) {
    c = contractOf(contractJson(type), type);
    contracts.set(type, c);
  }
  return c;
}

/**
 * A valid record as the validator would produce it: mapped, then PHI fields encrypted with `ring`
 * — sealed together (`enc:v3:`) as the validator writes them, or, with `format: 'v1'`, one
 * self-contained `enc:v1:` value per field as records written by older validators hold them.
 */
export function validRecord(
  type: TestType,
  resource: Record<string, unknown>,
  sourceId: string,
  ring: Keyring,
  format: 'sealed' | 'v1' = 'sealed',
): {
  /** The mapped record; its pipeline ids are strings (the mapping sets them from the metadata). */
  plain: MappedRecord & { readonly recordId: string; readonly logicalId: string };
  encrypted: Record<string, unknown>;
} {
  const contract = contractOfType(type);
  const id = String(resource.id);
  const result = compileMapping(contract).map(resource, {
    recordId: recordIdOf(sourceId, type, id, '1'),
    jobId: 'job-redactor-test',
    sourceId,
    sourceLocator: `test page 1 entry ${(entry += 1)}`,
    contractVersion: 1,
  });
  if (result.record === null) {
    throw new Error(
      `fixture ${type} does not map: ${result.issues.map((i) => `${i.kind} ${i.path}`).join(', ')}`,
    );
  }
  const encrypted: Record<string, unknown> = { ...result.record };
  const phi: [string, SealedValue][] = [];
  for (const field of contract.fields) {
    if (!isPhi(field)) continue;
    const value = encrypted[field.name];
    if (typeof value === 'string') phi.push([field.name, value]);
    else if (Array.isArray(value)) phi.push([field.name, value.map((v) => String(v))]);
  }
  if (format === 'v1') {
    for (const [name, value] of phi)
      encrypted[name] =
        typeof value === 'string' ? encryptField(ring, value) : value.map((v) => encryptField(ring, v));
  } else if (phi.length > 0) {
    for (const [name, sealed] of sealFields(ring, phi)) encrypted[name] = sealed;
  }
  const { recordId, logicalId } = result.record;
  if (typeof recordId !== 'string' || typeof logicalId !== 'string')
    throw new Error(`fixture ${type}: no ids`);
  return { plain: { ...result.record, recordId, logicalId }, encrypted };
}

/** The Kafka key the validator uses: a pseudonym of `<sourceId>/<patient id>`. */
export function keyOf(pseudonymKey: Buffer, p: Person): string {
  return partitionKey(pseudonymKey, p.sourceId, p.id);
}

/** An in-memory registry: versions per subject, ids across subjects, idempotent `register`. */
export function fakeRegistry(): {
  registry: SchemaRegistry;
  add: (subject: string, json: unknown) => RegisteredSchema;
} {
  const byId = new Map<number, RegisteredSchema>();
  const subjects = new Map<string, RegisteredSchema[]>();
  let nextId = 100;
  const add = (subject: string, json: unknown): RegisteredSchema => {
    const versions = subjects.get(subject) ?? [];
    const text = canonicalText(json);
    const same = versions.find((v) => v.text === text);
    if (same !== undefined) return same;
    const entry = {
      subject,
      version: versions.length + 1,
      id: nextId++,
      text,
      schema: parseAvro(json, subject),
    };
    subjects.set(subject, [...versions, entry]);
    byId.set(entry.id, entry);
    return entry;
  };
  const missing = (what: string) =>
    new PipelineError('SCHEMA_NOT_REGISTERED', `${what} is not registered`, { context: { subject: what } });
  const registry = {
    url: 'memory://registry',
    subjects: () => Promise.resolve([...subjects.keys()]),
    versions: (subject: string) => Promise.resolve((subjects.get(subject) ?? []).map((v) => v.version)),
    latest: (subject: string) => {
      const last = subjects.get(subject)?.at(-1);
      return last === undefined ? Promise.reject(missing(subject)) : Promise.resolve(last);
    },
    byId: (id: number) => {
      const s = byId.get(id);
      return s === undefined ? Promise.reject(missing(`id ${id}`)) : Promise.resolve(s);
    },
    subjectVersionsOf: (id: number) => {
      const s = byId.get(id);
      return Promise.resolve(s === undefined ? [] : [{ subject: s.subject, version: s.version }]);
    },
    register: (subject: string, text: string) => {
      const entry = add(subject, JSON.parse(text));
      return Promise.resolve({ id: entry.id, version: entry.version });
    },
    close: () => Promise.resolve(),
  } as unknown as SchemaRegistry;
  return { registry, add };
}
