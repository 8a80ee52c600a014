import { createHash } from 'node:crypto';
import type { QuarantineRecord, RawEnvelope } from '@ehrflow/contracts';
import {
  hl7RecordId,
  printableControlId,
  type BatchHeader,
  type BatchProblem,
  type Hl7View,
} from '@ehrflow/hl7';
import type { OutgoingMessage } from '@ehrflow/kafka';
import { encryptPayload, partitionKey, type Keyring } from '@ehrflow/phi';

/** What every envelope of one receiver shares. */
export interface EnvelopeContext {
  readonly sourceId: string;
  readonly keyring: Keyring;
  readonly pseudonymKey: Buffer;
  readonly now?: () => number;
}

/** The job id of a push feed: one open-ended job per source, so reconciliation can count it. */
export const jobIdOf = (sourceId: string): string => `mllp:${sourceId}`;

/**
 * The `ehr.raw` message of one HL7 message: its bytes encrypted, format `HL7V2`, the message type
 * (`ADT^A01`) as resource type, keyed by the pseudonym of the patient (PID-3.1) so one patient's
 * messages keep their order, with the record id of (sender, facility, MSH-10).
 */
export function rawMessage(ctx: EnvelopeContext, view: Hl7View, locator: string): OutgoingMessage {
  const plaintext = Buffer.from(view.text, 'utf8');
  const patient = view.value('PID', 3);
  const owner =
    patient !== ''
      ? `patient/${patient}`
      : `msg/${view.header.sendingApplication}/${view.header.sendingFacility}/${view.header.controlId}`;
  const value: RawEnvelope = {
    recordId: hl7RecordId(ctx.sourceId, view.header),
    jobId: jobIdOf(ctx.sourceId),
    sourceId: ctx.sourceId,
    resourceType: view.header.messageType === '' ? 'UNKNOWN' : view.header.messageType,
    kind: 'UPSERT',
    format: 'HL7V2',
    payload: encryptPayload(ctx.keyring, plaintext),
    keyId: ctx.keyring.activeKid,
    sourceLocator: `${locator} control ${printableControlId(view.header.controlId)}`,
    extractedAt: (ctx.now ?? Date.now)(),
    sizeBytes: plaintext.length,
  };
  return {
    key: partitionKey(ctx.pseudonymKey, ctx.sourceId, owner),
    value,
    headers: { 'ehrflow-format': 'HL7V2' },
  };
}

/** Where a quarantined batch came from: not a Kafka record, so the topic names the listener. */
export const listenerTopicOf = (sourceId: string): string => `mllp:${sourceId}`;

/**
 * The `ehr.quarantine` record of a batch refused whole: the block as received, encrypted, with a
 * PHI-free reason (counts and the trailer's position). `sourcePartition` -1 and `sourceOffset`
 * "-1" say it never was on a topic.
 */
export function quarantinedBatch(
  ctx: EnvelopeContext,
  block: Buffer,
  header: BatchHeader,
  problem: BatchProblem,
): OutgoingMessage {
  const digest = createHash('sha256').update(block).digest('hex');
  const recordId = createHash('sha256')
    .update(`${ctx.sourceId}\u0000HL7V2_BATCH\u0000${header.batchId}\u0000${digest}`)
    .digest('hex')
    .slice(0, 32);
  const counts =
    problem.declared === undefined ? '' : `: declared ${problem.declared}, found ${problem.found ?? 0}`;
  const value: QuarantineRecord = {
    recordId,
    jobId: jobIdOf(ctx.sourceId),
    sourceId: ctx.sourceId,
    resourceType: 'HL7V2_BATCH',
    sourceTopic: listenerTopicOf(ctx.sourceId),
    sourcePartition: -1,
    sourceOffset: '-1',
    schemaSubject: null,
    schemaVersion: null,
    reason: problem.reason === 'batch_count_mismatch' ? 'contract_violation' : 'parse_error',
    fieldPath: problem.position,
    detail: `${problem.reason} at ${problem.position}${counts}; batch ${printableControlId(header.batchId)}`,
    payload: encryptPayload(ctx.keyring, block),
    keyId: ctx.keyring.activeKid,
    quarantinedAt: (ctx.now ?? Date.now)(),
    replayCount: 0,
  };
  return { key: recordId, value, headers: { 'ehrflow-format': 'HL7V2' } };
}
