import { createHash, createHmac } from 'node:crypto';
import type { QuarantineRecord, RawEnvelope } from '@ehrflow/contracts';
import type { OutgoingMessage } from '@ehrflow/kafka';
import { encryptPayload, partitionKey, type Keyring } from '@ehrflow/phi';
import type { EnvelopeProblem, GroupHeader, InterchangeHeader, TransactionSetRef } from '@ehrflow/x12';

/** What every envelope of one receiver shares. */
export interface EnvelopeContext {
  readonly sourceId: string;
  readonly keyring: Keyring;
  readonly pseudonymKey: Buffer;
  readonly now?: () => number;
}

/** What the keyed digests of identities need. */
export type DigestContext = Pick<EnvelopeContext, 'sourceId' | 'pseudonymKey'>;

/** The job of one file: `x12:<source>:<first 16 hex of the file's digest>`. */
export const jobIdOf = (sourceId: string, fileDigest: string): string =>
  `x12:${sourceId}:${fileDigest.slice(0, 16)}`;

/** Where a quarantined file came from: not a Kafka record, so the topic names the drop. */
export const dropTopicOf = (sourceId: string): string => `x12-drop:${sourceId}`;

const keyed = (ctx: DigestContext, ...parts: string[]): string =>
  createHmac('sha256', ctx.pseudonymKey).update(parts.join('\u0000')).digest('hex').slice(0, 40);

/** Identity of a transaction set for the duplicate window: sender (ISA05/06) + ISA13 + GS06 + ST02. */
export function setDigest(
  ctx: DigestContext,
  isa: InterchangeHeader,
  gs: GroupHeader,
  set: TransactionSetRef,
): string {
  return keyed(
    ctx,
    'set',
    ctx.sourceId,
    isa.senderQualifier,
    isa.senderId,
    isa.controlNumber,
    gs.controlNumber,
    set.controlNumber,
  );
}

/** Identity of an interchange: sender + ISA13. */
export function interchangeDigest(ctx: DigestContext, isa: InterchangeHeader): string {
  return keyed(ctx, 'ix', ctx.sourceId, isa.senderQualifier, isa.senderId, isa.controlNumber);
}

/** Key of a file's checkpoint: its content digest (a renamed copy is the same file). */
export const fileKeyOf = (ctx: DigestContext, fileDigest: string): string =>
  keyed(ctx, 'file', ctx.sourceId, fileDigest);

/** `837P`, `837I`, `835` from the guide in GS08; otherwise `X12_<ST01>`. */
export function setTypeOf(gs: GroupHeader, set: TransactionSetRef): string {
  if (set.type === '837' && gs.version.includes('X222')) return '837P';
  if (set.type === '837' && gs.version.includes('X223')) return '837I';
  if (set.type === '835' && gs.version.includes('X221')) return '835';
  return /^\d{3}$/.test(set.type) ? `X12_${set.type}` : 'X12_other';
}

/** A record id: 32 hex digits of the SHA-256 of the identifying parts, NUL-separated. */
const recordIdOf = (...parts: readonly string[]): string =>
  createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);

const printable = (id: string): string =>
  /^[A-Za-z0-9]{1,15}$/.test(id) ? id : `h:${createHash('sha256').update(id).digest('hex').slice(0, 12)}`;

/**
 * The `ehr.raw` message of one transaction set: the ISA, the GS and the ST…SE bytes, encrypted,
 * format `X12` — self-contained, so the validator reads the delimiters and the guide from it.
 * The record id is a digest of the set's identity, so a resend of the same set has the same id.
 */
export function rawSet(
  ctx: EnvelopeContext,
  payload: Buffer,
  ids: { isa: InterchangeHeader; gs: GroupHeader; set: TransactionSetRef; fileDigest: string },
): OutgoingMessage {
  const { isa, gs, set } = ids;
  const recordId = recordIdOf(
    ctx.sourceId,
    'X12',
    isa.senderQualifier,
    isa.senderId,
    isa.controlNumber,
    gs.controlNumber,
    set.controlNumber,
  );
  const value: RawEnvelope = {
    recordId,
    jobId: jobIdOf(ctx.sourceId, ids.fileDigest),
    sourceId: ctx.sourceId,
    resourceType: setTypeOf(gs, set),
    kind: 'UPSERT',
    format: 'X12',
    payload: encryptPayload(ctx.keyring, payload),
    keyId: ctx.keyring.activeKid,
    sourceLocator: `file ${ids.fileDigest.slice(0, 12)} ISA13 ${printable(isa.controlNumber)} GS06 ${printable(gs.controlNumber)} ST02 ${printable(set.controlNumber)} set ${set.index + 1}`,
    extractedAt: (ctx.now ?? Date.now)(),
    sizeBytes: payload.length,
  };
  return {
    key: partitionKey(ctx.pseudonymKey, ctx.sourceId, `x12/${recordId}`),
    value,
    headers: { 'ehrflow-format': 'X12' },
  };
}

/** A PHI-free reason for a refused file: the problem kind, where, and counts. */
export function reasonOf(
  problem: EnvelopeProblem | { kind: 'too_large'; declared: number; found: number },
): string {
  if (!('level' in problem)) return `too_large: ${problem.found} bytes, limit ${problem.declared}`;
  const where =
    problem.segment === null
      ? `segment ${problem.ordinal}`
      : `${problem.segment} (segment ${problem.ordinal})`;
  const counts =
    problem.declared !== undefined ? `: declared ${problem.declared}, found ${problem.found ?? 0}` : '';
  return `${problem.kind} at ${where}${counts}`;
}

/**
 * The `ehr.quarantine` record of a file refused whole: the file, encrypted, with the reason.
 * `sourcePartition` -1 and `sourceOffset` "-1" say it never was on a topic. A file above
 * `maxPayloadBytes` keeps its encrypted copy only in the quarantine folder (named in the detail).
 */
export function quarantinedFile(
  ctx: EnvelopeContext,
  bytes: Buffer | undefined,
  ids: {
    fileDigest: string;
    reason: string;
    fieldPath: string | null;
    contract: boolean;
    folderCopy: string;
  },
): OutgoingMessage {
  const recordId = recordIdOf(ctx.sourceId, 'X12_FILE', ids.fileDigest);
  const value: QuarantineRecord = {
    recordId,
    jobId: jobIdOf(ctx.sourceId, ids.fileDigest),
    sourceId: ctx.sourceId,
    resourceType: 'X12_INTERCHANGE',
    sourceTopic: dropTopicOf(ctx.sourceId),
    sourcePartition: -1,
    sourceOffset: '-1',
    schemaSubject: null,
    schemaVersion: null,
    reason: ids.contract ? 'contract_violation' : 'parse_error',
    fieldPath: ids.fieldPath,
    detail: `${ids.reason}; file ${ids.fileDigest.slice(0, 12)}${bytes === undefined ? `; encrypted copy only in ${ids.folderCopy}` : ''}`,
    payload: encryptPayload(ctx.keyring, bytes ?? Buffer.alloc(0)),
    keyId: ctx.keyring.activeKid,
    quarantinedAt: (ctx.now ?? Date.now)(),
    replayCount: 0,
  };
  return { key: recordId, value, headers: { 'ehrflow-format': 'X12' } };
}
