/**
 * Records of the upstream topics (raw envelope, job event, quarantine record, valid resource) for
 * the reconciliation test, built from the schema files in `schemas/`. Synthetic values only.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A schema file of `schemas/` as JSON. */
export function schemaFile(relative: string): Record<string, unknown> {
  const path = fileURLToPath(new URL(`../../../../schemas/${relative}`, import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

/**
 * A value for every field of a record schema: defaults where the schema has them, otherwise a
 * placeholder of the field's type; `overrides` win.
 */
export function sampleRecord(
  schema: Record<string, unknown>,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const fields = schema.fields as { name: string; type: unknown; default?: unknown }[];
  const out: Record<string, unknown> = {};
  for (const f of fields) out[f.name] = 'default' in f ? f.default : placeholder(f.type);
  return { ...out, ...overrides };
}

function placeholder(type: unknown): unknown {
  if (typeof type === 'string') {
    switch (type) {
      case 'string':
        return 'x';
      case 'int':
      case 'long':
        return 1;
      case 'float':
      case 'double':
        return 1.5;
      case 'boolean':
        return true;
      case 'bytes':
        return Buffer.from('00', 'hex');
      default:
        return null;
    }
  }
  if (Array.isArray(type)) return placeholder(type[0]);
  const t = type as { type: string; symbols?: string[]; fields?: unknown };
  if (t.type === 'enum') return t.symbols?.[0];
  if (t.type === 'array') return [];
  if (t.type === 'map') return {};
  if (t.type === 'record') return sampleRecord(t);
  return placeholder(t.type);
}

export function rawEnvelope(
  jobId: string,
  recordId: string,
  resourceType: string,
  kind: 'UPSERT' | 'DELETE' = 'UPSERT',
): Record<string, unknown> {
  return sampleRecord(schemaFile('pipeline/raw-envelope.avsc'), {
    recordId,
    jobId,
    sourceId: 'site-a',
    resourceType,
    kind,
    format: 'FHIR_JSON',
    payload: Buffer.from('not-a-real-envelope'),
    keyId: 'k1',
    sourceLocator: 'file 1 line 1',
    extractedAt: Date.now(),
    sizeBytes: 10,
  });
}

export function jobEvent(
  jobId: string,
  counts: { read: number; produced: number; deleted: number; errors: number; duplicates?: number },
  state = 'completed',
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return sampleRecord(schemaFile('pipeline/job-event.avsc'), {
    jobId,
    sourceId: 'site-a',
    kind: 'backfill',
    state,
    resourceTypes: ['Patient'],
    counts: { duplicates: 0, ...counts, retries: 0, throttled: 0, tokenRefreshes: 0 },
    startedAt: Date.now() - 1000,
    updatedAt: Date.now(),
    ...extra,
  });
}

export function quarantineRecord(jobId: string, recordId: string): Record<string, unknown> {
  return sampleRecord(schemaFile('pipeline/quarantine-record.avsc'), {
    recordId,
    jobId,
    sourceId: 'site-a',
    resourceType: 'Patient',
    sourceTopic: 'ehr.raw',
    sourcePartition: 0,
    sourceOffset: '1',
    reason: 'missing_required',
    payload: Buffer.from('not-a-real-envelope'),
    keyId: 'k1',
    quarantinedAt: Date.now(),
  });
}

export function validPatient(jobId: string, recordId: string, logicalId: string): Record<string, unknown> {
  return sampleRecord(schemaFile('fhir/Patient.avsc'), {
    recordId,
    jobId,
    sourceId: 'site-a',
    logicalId,
    versionId: '1',
  });
}

/**
 * A Deletion (`schemas/pipeline/deletion.avsc`) as it travels `ehr.valid.deletions` /
 * `ehr.clean.deletions` (the test does not care whether the logical id is ciphertext or pseudonym).
 */
export function deletion(
  jobId: string,
  recordId: string,
  resourceType: string,
  logicalId: string,
  sourceId = 'site-a',
): Record<string, unknown> {
  return sampleRecord(schemaFile('pipeline/deletion.avsc'), {
    recordId,
    jobId,
    sourceId,
    resourceType,
    logicalId,
    sourceLocator: 'file 1 line 1',
    deleted: true,
  });
}
