/**
 * Clean schemas and records for the loader's tests and benchmark. The real clean schemas are
 * derived by the redactor (contract fields minus dropped ones, plus the policy stamp); these are
 * written by hand in that shape, so the loader is tested without depending on the redactor.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

type FieldJson = Record<string, unknown> & { name: string };

const str = (name: string, extra: Record<string, unknown> = {}): FieldJson => ({
  name,
  type: 'string',
  phi: 'none',
  ...extra,
});
const opt = (name: string, type: unknown = 'string', extra: Record<string, unknown> = {}): FieldJson => ({
  name,
  type: ['null', type],
  default: null,
  ...extra,
});

/** Pipeline metadata every clean record carries. */
export function metaFields(): FieldJson[] {
  return [
    str('recordId', { required: true }),
    str('jobId', { required: true }),
    str('sourceId', { required: true }),
    str('logicalId', { required: true, deid: 'hash' }),
    opt('versionId'),
    opt('lastUpdated', 'string', { deid: 'dateShift' }),
  ];
}

/** A small clean Patient: metadata, a few typed fields of each kind, the policy stamp. */
export function cleanPatientSchema(extra: readonly FieldJson[] = []): Record<string, unknown> {
  return {
    type: 'record',
    name: 'Patient',
    namespace: 'ehrflow.clean',
    fields: [
      ...metaFields(),
      str('patientRef', { required: true }),
      { name: 'contractVersion', type: 'int' },
      opt('gender'),
      opt('active', 'boolean'),
      str('birthDate', { required: true }),
      opt('addressPostalCode'),
      opt('weightKg', 'double'),
      { name: 'tags', type: { type: 'array', items: 'string' }, default: [] },
      ...extra,
      str('deidPolicy'),
      str('deidPolicyVersion'),
    ],
  };
}

export interface PatientValues {
  readonly logicalId: string;
  readonly versionId?: string | null;
  readonly lastUpdated?: string | null;
  readonly jobId?: string;
  readonly sourceId?: string;
  readonly gender?: string | null;
  readonly deleted?: boolean;
  readonly [field: string]: unknown;
}

/** A clean Patient record matching {@link cleanPatientSchema} (plus any extra fields given). */
export function cleanPatient(v: PatientValues): Record<string, unknown> {
  const sourceId = v.sourceId ?? 'site-a';
  const rest: Record<string, unknown> = { ...v };
  delete rest.deleted;
  return {
    recordId: `r-${sourceId}-${v.logicalId}-${v.versionId ?? v.lastUpdated ?? 'x'}`,
    jobId: v.jobId ?? 'job-1',
    sourceId,
    versionId: null,
    lastUpdated: null,
    patientRef: `Patient/${v.logicalId}`,
    contractVersion: 1,
    gender: 'female',
    active: true,
    birthDate: '1970',
    addressPostalCode: '021',
    weightKg: 71.5,
    tags: ['a', 'b'],
    deidPolicy: 'safe-harbor',
    deidPolicyVersion: '1',
    ...rest,
  };
}

/**
 * A clean schema derived from a contract file of `schemas/fhir` the way the redactor describes
 * it: fields whose `deid` is `drop` removed, `deidPolicy` and `deidPolicyVersion` appended.
 */
export function cleanSchemaFromContract(resourceType: string): Record<string, unknown> {
  const path = fileURLToPath(new URL(`../../../../schemas/fhir/${resourceType}.avsc`, import.meta.url));
  const contract = JSON.parse(readFileSync(path, 'utf8')) as { name: string; fields: FieldJson[] };
  return {
    type: 'record',
    name: contract.name,
    namespace: 'ehrflow.clean',
    fields: [
      ...contract.fields.filter((f) => f.deid !== 'drop'),
      str('deidPolicy'),
      str('deidPolicyVersion'),
    ],
  };
}
