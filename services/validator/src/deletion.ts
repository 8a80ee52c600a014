import {
  contractOf,
  isPhi,
  type Contract,
  type Deletion,
  type QuarantineReason,
  type RawEnvelope,
} from '@ehrflow/contracts';
import type { MappedRecord, MappedValue } from '@ehrflow/fhir';
import { createRecordCipher, type Keyring, type RecordCipher } from '@ehrflow/phi';
import type { LatestVersionSource } from './contract-cache.ts';

/** The registered contract of `ehr.valid.deletions`, read once at start. */
export interface DeletionContract {
  readonly topic: string;
  readonly subject: string;
  readonly version: number;
  readonly contract: Contract;
}

/**
 * Reads the latest registered version of `<topic>-value` (services never register).
 * @throws PipelineError SCHEMA_NOT_REGISTERED naming the subject, REGISTRY_UNAVAILABLE.
 */
export async function loadDeletionContract(
  source: LatestVersionSource,
  topic: string,
): Promise<DeletionContract> {
  const latest = await source.latestVersion(`${topic}-value`);
  return {
    topic,
    subject: latest.subject,
    version: latest.version,
    contract: contractOf(latest.text, `${latest.subject} v${latest.version}`),
  };
}

/** What a DELETE payload must hold: exactly `{resourceType, id}` (the extractor's `deleteMessage`). */
export type DeletePayloadCheck =
  | { readonly ok: true; readonly logicalId: string }
  | {
      readonly ok: false;
      readonly reason: QuarantineReason;
      readonly fieldPath: string;
      readonly detail: string;
    };

/** @see https://hl7.org/fhir/R4/datatypes.html#id */
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const DELETE_KEYS: ReadonlySet<string> = new Set(['resourceType', 'id']);

/**
 * Checks a parsed DELETE payload (its `resourceType` is a type name already: the parser refuses
 * anything else). Details name fields and expectations, never a value.
 */
export function checkDeletePayload(
  resource: Readonly<Record<string, unknown>>,
  envelopeType: string,
): DeletePayloadCheck {
  const type = String(resource.resourceType);
  if (type !== envelopeType) {
    return {
      ok: false,
      reason: 'contract_violation',
      fieldPath: 'resourceType',
      detail: 'the DELETE payload names another resource type than its envelope',
    };
  }
  if (resource.id === undefined || resource.id === null) {
    return {
      ok: false,
      reason: 'missing_required',
      fieldPath: `${type}.id`,
      detail: `missing_required ${type}.id (DELETE payload, expected id)`,
    };
  }
  if (typeof resource.id !== 'string') {
    return {
      ok: false,
      reason: 'type_mismatch',
      fieldPath: `${type}.id`,
      detail: `type_mismatch ${type}.id (DELETE payload, expected id, observed ${kindOf(resource.id)})`,
    };
  }
  if (!FHIR_ID.test(resource.id)) {
    return {
      ok: false,
      reason: 'contract_violation',
      fieldPath: `${type}.id`,
      detail: `${type}.id of the DELETE payload is not a FHIR id ([A-Za-z0-9-.]{1,64})`,
    };
  }
  const extra = Object.keys(resource).filter((k) => !DELETE_KEYS.has(k)).length;
  if (extra > 0) {
    return {
      ok: false,
      reason: 'contract_violation',
      fieldPath: type,
      detail: `the DELETE payload has ${extra} field(s) besides resourceType and id`,
    };
  }
  return { ok: true, logicalId: resource.id };
}

/**
 * The `ehr.valid.deletions` value of a DELETE envelope, its one PHI field (the logical id) a
 * self-contained `enc:v2:` value under a data key of its own, as `deletion.avsc` documents.
 * (Sealing, `enc:v3:`, pays off for records with many PHI values; for one it costs the same.)
 */
export function deletionRecord(
  envelope: RawEnvelope,
  logicalId: string,
  deletions: DeletionContract,
  ring: Keyring,
): Deletion {
  const plain: MappedRecord = {
    recordId: envelope.recordId,
    jobId: envelope.jobId,
    sourceId: envelope.sourceId,
    resourceType: envelope.resourceType,
    logicalId,
    sourceLocator: envelope.sourceLocator,
    deleted: true,
    deidPolicy: null,
    deidPolicyVersion: null,
  };
  const out: Record<string, MappedValue> = { ...plain };
  let cipher: RecordCipher | undefined;
  for (const field of deletions.contract.fields) {
    if (!isPhi(field)) continue;
    const value = out[field.name];
    const encrypt = (v: string): string => (cipher ??= createRecordCipher(ring)).encrypt(v);
    if (typeof value === 'string') out[field.name] = encrypt(value);
    else if (Array.isArray(value)) out[field.name] = value.map((v) => encrypt(String(v)));
  }
  return out as unknown as Deletion;
}

function kindOf(value: unknown): string {
  return Array.isArray(value) ? 'array' : typeof value;
}
