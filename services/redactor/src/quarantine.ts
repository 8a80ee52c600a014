import type { QuarantineReason, QuarantineRecord } from '@ehrflow/contracts';
import { PipelineError, type ErrorCode } from '@ehrflow/errors';
import type { RecordPosition } from '@ehrflow/kafka';
import { encryptPayload, type Keyring } from '@ehrflow/phi';
import { scrub } from '@ehrflow/scrubber';

/** Where a refused `ehr.valid.*` record came from. */
export interface RedactorOrigin {
  readonly position: RecordPosition;
  readonly resourceType: string | null;
  /** The decoded valid record (PHI fields still encrypted), or undefined when it did not decode. */
  readonly value: Readonly<Record<string, unknown>> | undefined;
  /** The undecoded bytes, for a record that did not decode. */
  readonly raw: Buffer | null;
}

const MAX_DETAIL = 1000;

/** Error codes that mean "this record is the problem", and their quarantine reasons. */
const REASONS: Partial<Record<ErrorCode, QuarantineReason>> = {
  DECRYPT_FAILED: 'decrypt_failed',
  PARSE_ERROR: 'parse_error',
  SCHEMA_MISMATCH: 'schema_mismatch',
  UNKNOWN_RESOURCE_TYPE: 'unknown_resource_type',
  MISSING_REQUIRED: 'missing_required',
  TOO_LARGE: 'too_large',
  CONTRACT_VIOLATION: 'contract_violation',
};

/** Maps an error to a quarantine reason; undefined when the error is not the record's fault. */
export function reasonOf(err: unknown): QuarantineReason | undefined {
  if (!(err instanceof PipelineError)) return undefined;
  return REASONS[err.code] ?? (err.errorClass === 'contract' ? 'contract_violation' : undefined);
}

/**
 * The `ehr.quarantine` value for a record the redactor refused. The payload is the refused record
 * as it was on the valid topic — the decoded record as JSON (its PHI fields still encrypted, `enc:v3:` or `enc:v1:`/`enc:v2:`
 * ciphertext), or the undecodable bytes — sealed again in an envelope with the active key, so the
 * quarantine topic carries nothing readable without the keyring. The detail is the error's
 * message (PHI-free by construction), scrubbed once more.
 */
export function quarantineRecord(
  origin: RedactorOrigin,
  err: PipelineError,
  reason: QuarantineReason,
  subject: { readonly subject: string; readonly version: number | null } | undefined,
  ring: Keyring,
  now: number,
): QuarantineRecord {
  const plain =
    origin.value === undefined
      ? (origin.raw ?? Buffer.alloc(0))
      : Buffer.from(JSON.stringify(origin.value), 'utf8');
  const value = origin.value ?? {};
  const fieldPath = typeof err.context.fieldPath === 'string' ? err.context.fieldPath : null;
  return {
    recordId: stringOr(value.recordId, 'unknown'),
    jobId: typeof value.jobId === 'string' ? value.jobId : null,
    sourceId: stringOr(value.sourceId, 'unknown'),
    resourceType: origin.resourceType,
    sourceTopic: origin.position.topic,
    sourcePartition: origin.position.partition,
    sourceOffset: origin.position.offset,
    schemaSubject: subject?.subject ?? null,
    schemaVersion: subject?.version ?? null,
    reason,
    fieldPath:
      fieldPath === null
        ? null
        : scrub(origin.resourceType === null ? fieldPath : `${origin.resourceType}.${fieldPath}`),
    detail: scrub(`redactor: ${err.code}: ${err.message}`).slice(0, MAX_DETAIL),
    payload: encryptPayload(ring, plain),
    keyId: ring.activeKid,
    quarantinedAt: now,
    replayCount: 0,
  };
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' && value.length > 0 ? value : fallback;
}
