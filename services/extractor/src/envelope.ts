import type { RawEnvelope } from '@ehrflow/contracts';
import { recordIdOf, versionKeyOf } from '@ehrflow/fhir';
import type { OutgoingMessage } from '@ehrflow/kafka';
import { encryptPayload, partitionKey, type Keyring } from '@ehrflow/phi';
import type { DeletedRef, ResourceHead } from './manifest.ts';

/** What every envelope of one job shares. */
export interface EnvelopeContext {
  readonly sourceId: string;
  readonly jobId: string;
  readonly keyring: Keyring;
  readonly pseudonymKey: Buffer;
  /** A resource of more bytes is not produced: it counts as a `TOO_LARGE` error. */
  readonly maxResourceBytes?: number;
  readonly now?: () => number;
}

/** The version part of the record id of a deletion: one id per deleted resource, however often re-extracted. */
export const DELETED_VERSION = 'deleted';

/**
 * The `ehr.raw` message of one resource: the line exactly as read, encrypted with the active
 * keyring key; keyed by the pseudonym of `<sourceId>/<patient id>` (the resource's own
 * `<Type>/<id>` when it names no patient), with a deterministic record id.
 */
export function upsertMessage(
  ctx: EnvelopeContext,
  head: ResourceHead,
  resource: Readonly<Record<string, unknown>>,
  line: string,
  sourceLocator: string,
): OutgoingMessage {
  const recordId = recordIdOf(ctx.sourceId, head.resourceType, head.id, versionKeyOf(resource));
  const owner = head.patientId ?? `${head.resourceType}/${head.id}`;
  return message(ctx, recordId, head.resourceType, 'UPSERT', owner, Buffer.from(line, 'utf8'), sourceLocator);
}

/**
 * The `ehr.raw` message of one deletion reported by the source. The payload is the deletion
 * entry as a small Bundle-free JSON (`{resourceType, id}`), encrypted like any payload; the key is
 * the pseudonym of `<sourceId>/<Type>/<id>` because a deletion does not name its patient.
 */
export function deleteMessage(ctx: EnvelopeContext, ref: DeletedRef, sourceLocator: string): OutgoingMessage {
  const recordId = recordIdOf(ctx.sourceId, ref.resourceType, ref.id, DELETED_VERSION);
  const payload = Buffer.from(JSON.stringify({ resourceType: ref.resourceType, id: ref.id }), 'utf8');
  return message(
    ctx,
    recordId,
    ref.resourceType,
    'DELETE',
    `${ref.resourceType}/${ref.id}`,
    payload,
    sourceLocator,
  );
}

function message(
  ctx: EnvelopeContext,
  recordId: string,
  resourceType: string,
  kind: RawEnvelope['kind'],
  owner: string,
  plaintext: Buffer,
  sourceLocator: string,
): OutgoingMessage {
  const value: RawEnvelope = {
    recordId,
    jobId: ctx.jobId,
    sourceId: ctx.sourceId,
    resourceType,
    kind,
    format: 'FHIR_JSON',
    payload: encryptPayload(ctx.keyring, plaintext),
    keyId: ctx.keyring.activeKid,
    sourceLocator,
    extractedAt: (ctx.now ?? Date.now)(),
    sizeBytes: plaintext.length,
  };
  return { key: partitionKey(ctx.pseudonymKey, ctx.sourceId, owner), value };
}
