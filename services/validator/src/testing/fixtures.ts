/** Test support (not exported from the package): synthetic resources, keys and contracts. */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  canonicalText,
  contractOf,
  parseAvroText,
  type RawEnvelope,
  type RegisteredSchema,
} from '@ehrflow/contracts';
import { PipelineError } from '@ehrflow/errors';
import { recordIdOf } from '@ehrflow/fhir';
import { createKeyring, encryptPayload, type Keyring } from '@ehrflow/phi';
import type { LatestVersionSource } from '../contract-cache.ts';
import type { DeletionContract } from '../deletion.ts';

const SCHEMAS = new URL('../../../../schemas/', import.meta.url);

/** A canary: a synthetic value that must never appear outside an encrypted field or payload. */
export const CANARY = 'Zqxcanaryvalue Wplkfamily';

export function testKeyring(): Keyring {
  return createKeyring([['k1', randomBytes(32)]]);
}

/** `kid:base64` spec of a fresh key, for PHI_KEYRING. */
export function keyringSpec(kid = 'k1'): string {
  return `${kid}:${randomBytes(32).toString('base64')}`;
}

/** The schema JSON of a FHIR contract in `schemas/fhir/`. */
export function contractJson(type: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`fhir/${type}.avsc`, SCHEMAS), 'utf8')) as Record<string, unknown>;
}

export function pipelineSchemaJson(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`pipeline/${file}`, SCHEMAS), 'utf8')) as Record<string, unknown>;
}

/** The Patient contract with one more optional field (the steward workflow's new version). */
export function withOptionalField(
  schema: Record<string, unknown>,
  field: { name: string; fhirPath: string; phi?: string },
): Record<string, unknown> {
  const fields = [...(schema.fields as Record<string, unknown>[])];
  fields.push({
    name: field.name,
    type: ['null', 'string'],
    default: null,
    doc: `Added by a steward: ${field.name}.`,
    phi: field.phi ?? 'none',
    deid: 'keep',
    required: false,
    fhirPath: field.fhirPath,
  });
  return { ...schema, fields };
}

/** A latest-version source over in-memory schemas, versions bumped by `register`. */
export function memorySchemaSource(
  initial: Record<string, Record<string, unknown>> = {},
): LatestVersionSource & {
  register(subject: string, schema: Record<string, unknown>): void;
} {
  const latest = new Map<string, RegisteredSchema>();
  let nextId = 1;
  const register = (subject: string, schema: Record<string, unknown>) => {
    const text = canonicalText(schema);
    const version = (latest.get(subject)?.version ?? 0) + 1;
    latest.set(subject, { subject, version, id: nextId++, text, schema: parseAvroText(text, subject).type });
  };
  for (const [subject, schema] of Object.entries(initial)) register(subject, schema);
  return {
    register,
    latestVersion(subject) {
      const found = latest.get(subject);
      if (found === undefined)
        return Promise.reject(
          new PipelineError('SCHEMA_NOT_REGISTERED', `subject ${subject} not registered`),
        );
      return Promise.resolve(found);
    },
  };
}

/** A synthetic Patient (no real person), varied by `n`. */
export function patient(n: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    resourceType: 'Patient',
    id: `syn-pat-${n}`,
    meta: { versionId: '1', lastUpdated: '2024-05-01T10:00:00Z' },
    identifier: [
      {
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] },
        system: 'urn:oid:2.16.840.1.113883.19.5',
        value: `SYN-MRN-${String(n).padStart(6, '0')}`,
      },
    ],
    active: true,
    name: [{ use: 'official', family: `Synfamily${n}`, given: ['Synthia'] }],
    telecom: [{ system: 'phone', value: '555-0100' }],
    gender: n % 2 === 0 ? 'female' : 'male',
    birthDate: '1970-01-31',
    address: [
      { line: ['1 Example Street'], city: 'Testville', state: 'MA', postalCode: '99999', country: 'US' },
    ],
    ...overrides,
  };
}

/** A raw envelope around a payload (a resource, or raw bytes for malformed input). */
export function rawEnvelope(
  ring: Keyring,
  payload: Record<string, unknown> | Buffer,
  opts: { sourceId?: string; resourceType?: string; logicalId?: string; jobId?: string } = {},
): RawEnvelope {
  const resourceType =
    opts.resourceType ?? (Buffer.isBuffer(payload) ? 'Patient' : String(payload.resourceType));
  const logicalId =
    opts.logicalId ?? (Buffer.isBuffer(payload) ? randomBytes(6).toString('hex') : String(payload.id));
  return sealedEnvelope(ring, payload, {
    ...opts,
    resourceType,
    logicalId,
    version: '1',
    kind: 'UPSERT',
    sourceLocator: 'test entry',
  });
}

/** What tells a test envelope apart: its identity, kind and locator. */
interface EnvelopeFields {
  readonly sourceId?: string;
  readonly jobId?: string;
  readonly resourceType: string;
  readonly logicalId: string;
  /** The version the record id is computed over (`deleted` for a deletion). */
  readonly version: string;
  readonly kind: RawEnvelope['kind'];
  readonly sourceLocator: string;
}

/** A FHIR envelope from the extractor of site-a: the payload encrypted with the ring's active key. */
function sealedEnvelope(
  ring: Keyring,
  payload: Record<string, unknown> | Buffer,
  fields: EnvelopeFields,
): RawEnvelope {
  const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload), 'utf8');
  const sourceId = fields.sourceId ?? 'site-a';
  return {
    recordId: recordIdOf(sourceId, fields.resourceType, fields.logicalId, fields.version),
    jobId: fields.jobId ?? 'job-test',
    sourceId,
    resourceType: fields.resourceType,
    kind: fields.kind,
    format: 'FHIR_JSON',
    payload: encryptPayload(ring, bytes),
    keyId: ring.activeKid,
    sourceLocator: fields.sourceLocator,
    extractedAt: Date.now(),
    sizeBytes: bytes.byteLength,
  };
}

/** The `ehr.valid.deletions` contract from `schemas/pipeline/deletion.avsc`, as version 1. */
export function deletionContract(topic = 'ehr.valid.deletions'): DeletionContract {
  return {
    topic,
    subject: `${topic}-value`,
    version: 1,
    contract: contractOf(pipelineSchemaJson('deletion.avsc'), 'deletion.avsc'),
  };
}

/**
 * A DELETE envelope as the extractor writes one for a `deleted` entry of a `_since` export:
 * payload `{resourceType, id}` (or the given bytes/object), record id over the version `deleted`.
 */
export function deleteEnvelope(
  ring: Keyring,
  resourceType: string,
  id: string,
  opts: { sourceId?: string; jobId?: string; payload?: Record<string, unknown> | Buffer } = {},
): RawEnvelope {
  return sealedEnvelope(ring, opts.payload ?? { resourceType, id }, {
    ...opts,
    resourceType,
    logicalId: id,
    version: 'deleted',
    kind: 'DELETE',
    sourceLocator: 'file 1 line 1',
  });
}
