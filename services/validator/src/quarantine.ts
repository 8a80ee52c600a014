import type { QuarantineReason, QuarantineRecord, RawEnvelope } from '@ehrflow/contracts';
import type { Issue } from '@ehrflow/fhir';
import type { RecordPosition } from '@ehrflow/kafka';
import { scrub } from '@ehrflow/scrubber';

/** Where a quarantined record came from, and its encrypted original. */
export interface QuarantineOrigin {
  readonly position: RecordPosition;
  readonly recordId: string;
  readonly jobId: string | null;
  readonly sourceId: string;
  readonly resourceType: string | null;
  /** The original encrypted payload (never the plaintext). */
  readonly payload: Buffer;
  readonly keyId: string;
  /** Replays this record has been through (0 on first processing). */
  readonly replayCount: number;
}

export interface QuarantineCause {
  readonly reason: QuarantineReason;
  readonly fieldPath: string | null;
  /** Built from codes, paths and type names only; scrubbed again here all the same. */
  readonly detail: string;
  readonly subject: string | null;
  readonly version: number | null;
}

/** Longest detail kept; a record with hundreds of issues still yields a readable reason. */
const MAX_DETAIL = 1000;

/**
 * Builds the value of an `ehr.quarantine` record. The detail goes through the scrubber even
 * though it is assembled from type names and paths, because a path segment came from the data.
 */
export function quarantineRecord(
  origin: QuarantineOrigin,
  cause: QuarantineCause,
  now: number,
): QuarantineRecord {
  return {
    recordId: origin.recordId,
    jobId: origin.jobId,
    sourceId: origin.sourceId,
    resourceType: origin.resourceType,
    sourceTopic: origin.position.topic,
    sourcePartition: origin.position.partition,
    sourceOffset: origin.position.offset,
    schemaSubject: cause.subject,
    schemaVersion: cause.version,
    reason: cause.reason,
    fieldPath: cause.fieldPath === null ? null : scrub(cause.fieldPath),
    detail: scrub(cause.detail).slice(0, MAX_DETAIL),
    payload: origin.payload,
    keyId: origin.keyId,
    quarantinedAt: now,
    replayCount: origin.replayCount,
  };
}

/** The origin fields of a decoded raw envelope. */
export function originOf(
  envelope: RawEnvelope,
  position: RecordPosition,
  replayCount: number,
): QuarantineOrigin {
  return {
    position,
    recordId: envelope.recordId,
    jobId: envelope.jobId,
    sourceId: envelope.sourceId,
    resourceType: envelope.resourceType,
    payload: envelope.payload,
    keyId: envelope.keyId,
    replayCount,
  };
}

/** Which issue names the quarantine reason when several block a record. */
const ISSUE_PRIORITY: readonly Issue['kind'][] = [
  'missing_required',
  'type_mismatch',
  'contract_violation',
  'unexpected_field',
];

/** The quarantine reason for a record the mapping refused, from its blocking issues. */
export function reasonOfIssues(blocking: readonly Issue[]): {
  reason: QuarantineReason;
  issue: Issue | undefined;
} {
  for (const kind of ISSUE_PRIORITY) {
    const issue = blocking.find((i) => i.kind === kind);
    if (issue === undefined) continue;
    // A strict contract refuses unexpected fields: a contract violation, not a missing value.
    return { reason: kind === 'unexpected_field' ? 'contract_violation' : kind, issue };
  }
  return { reason: 'contract_violation', issue: undefined };
}

/** One line per issue: `missing_required Patient.birthDate (expected date)`. */
export function describeIssues(issues: readonly Issue[]): string {
  return issues
    .map((i) => {
      const types = [i.expected && `expected ${i.expected}`, i.observed && `observed ${i.observed}`].filter(
        Boolean,
      );
      return `${i.kind} ${i.path}${types.length > 0 ? ` (${types.join(', ')})` : ''}`;
    })
    .join('; ');
}
