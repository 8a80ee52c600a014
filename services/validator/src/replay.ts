import type { QuarantineReason, QuarantineRecord, RawEnvelope } from '@ehrflow/contracts';
import { isPipelineError, PipelineError } from '@ehrflow/errors';
import { recordIdOf, type RawFormat } from '@ehrflow/fhir';
import { readRange, type Output, type RangeMessage } from '@ehrflow/kafka';
import { decryptPayload, type Keyring } from '@ehrflow/phi';
import { isRawEnvelope, toRawInput } from './handler.ts';
import type { ValidatorParts } from './service.ts';
import type { RawInput } from './validate-record.ts';

/** Where a replay reads from. */
export type ReplaySource =
  | { readonly kind: 'quarantine'; readonly reason?: QuarantineReason }
  | { readonly kind: 'raw-offset'; readonly partition: number; readonly offset: string }
  | { readonly kind: 'raw-time'; readonly since: Date };

export interface ReplayResult {
  readonly read: number;
  readonly valid: number;
  readonly quarantined: number;
  /**
   * Quarantine records not replayed: another reason, bytes that never were a raw envelope, or a
   * record another stage quarantined (its source topic is not the raw topic).
   */
  readonly skipped: number;
}

/**
 * Re-processes records after a contract or mapping fix, through the same validation as the
 * service, up to the end of the source as of the start. Record ids are those of the original
 * envelopes. A record that fails again is quarantined again with `replayCount` + 1.
 */
export async function replay(parts: ValidatorParts, source: ReplaySource): Promise<ReplayResult> {
  const counts = { read: 0, valid: 0, quarantined: 0, skipped: 0 };
  const { topics } = parts;

  const process = async (inputs: RawInput[]): Promise<void> => {
    const outputs = await parts.handler.outputsOf(inputs);
    for (const o of outputs) {
      if (o.topic === topics.quarantine) counts.quarantined++;
      else counts.valid++;
    }
    await produce(parts, outputs, counts);
  };

  if (source.kind === 'quarantine') {
    await readRange(parts.kafka, topics.quarantine, async (batch) => {
      counts.read += batch.length;
      const inputs: RawInput[] = [];
      for (const m of batch) {
        const input = await fromQuarantine(parts, m, source.reason);
        if (input === undefined) counts.skipped++;
        else inputs.push(input);
      }
      await process(inputs);
    });
  } else {
    const from = await rawStarts(parts, source);
    await readRange(
      parts.kafka,
      topics.raw,
      async (batch) => {
        counts.read += batch.length;
        await process(await Promise.all(batch.map((m) => fromRaw(parts, m))));
      },
      { from, only: source.kind === 'raw-offset' },
    );
  }
  await parts.monitor.tick();
  return counts;
}

/** Produces replay outputs; one the registered schema refuses is quarantined (schema_mismatch). */
async function produce(
  parts: ValidatorParts,
  outputs: readonly Output[],
  counts: { valid: number; quarantined: number },
): Promise<void> {
  const byTopic = new Map<string, Output[]>();
  for (const o of outputs) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o]);
  for (const [topic, list] of byTopic) {
    let pending = list;
    for (;;) {
      try {
        await parts.producer.send(topic, pending);
        break;
      } catch (err) {
        const index = isPipelineError(err) && err.errorClass === 'contract' ? err.context.index : undefined;
        if (typeof index !== 'number' || !isPipelineError(err)) throw err;
        const refused = pending[index] as Output;
        const replacement = parts.handler.onQuarantine(refused, err);
        await parts.producer.send(replacement.topic, [replacement]);
        counts.valid--;
        counts.quarantined++;
        pending = pending.filter((_, i) => i !== index);
      }
    }
  }
}

async function fromRaw(parts: ValidatorParts, m: RangeMessage): Promise<RawInput> {
  const position = { topic: parts.topics.raw, partition: m.partition, offset: m.message.offset };
  const key = m.message.key === null ? null : m.message.key.toString('utf8');
  try {
    if (m.message.value === null) throw new PipelineError('PARSE_ERROR', 'tombstone on the raw topic');
    const decoded = await parts.codec.decode(m.message.value);
    return toRawInput({
      ...position,
      key,
      headers: {},
      timestamp: Number(m.message.timestamp),
      value: decoded.value,
      schemaId: decoded.schemaId,
    });
  } catch (err) {
    if (!isPipelineError(err) || err.retryable) throw err;
    return { undecodable: { error: err, raw: m.message.value }, position, key, replayCount: 0 };
  }
}

async function fromQuarantine(
  parts: ValidatorParts,
  m: RangeMessage,
  reason: QuarantineReason | undefined,
): Promise<RawInput | undefined> {
  if (m.message.value === null) return undefined;
  const { value } = await parts.codec.decode<QuarantineRecord>(m.message.value);
  const key = m.message.key === null ? null : m.message.key.toString('utf8');
  return quarantineReplayInput(value, { rawTopic: parts.topics.raw, reason, keyring: parts.keyring, key });
}

/** What `quarantineReplayInput` needs besides the quarantine record. */
export interface QuarantineReplayOptions {
  /** The raw topic: only records the validator quarantined from it can be validated again. */
  readonly rawTopic: string;
  /** Only records quarantined for this reason; all when undefined. */
  readonly reason: QuarantineReason | undefined;
  /** Opens the payload to tell its format. */
  readonly keyring: Keyring;
  /** The quarantine message's Kafka key. */
  readonly key: string | null;
}

/**
 * A raw input rebuilt from a quarantine record: same record id, source and payload. The
 * quarantine record carries neither the payload format nor the envelope's kind: the format is read
 * from the payload's first bytes (JSON, HL7 v2 `MSH`, X12 `ISA`), and a record is a DELETE when
 * its payload is `{resourceType, id}` and its record id is the one the extractor derives for the
 * deletion of that resource (so DELETEs quarantined before deletions had a contract replay as
 * deletions).
 *
 * Undefined (skipped) for another reason, for bytes that never were a raw envelope, and for a
 * record quarantined from another topic than the raw one: the redactor quarantines refused
 * `ehr.valid.*` records to the same topic, and their payload is a field-encrypted valid record,
 * not a raw FHIR payload — re-validating it would only quarantine it again, as something else.
 */
export function quarantineReplayInput(
  value: QuarantineRecord,
  options: QuarantineReplayOptions,
): RawInput | undefined {
  if (value.sourceTopic !== options.rawTopic) return undefined;
  if (options.reason !== undefined && value.reason !== options.reason) return undefined;
  if (value.recordId.startsWith('undecodable:')) return undefined;
  const { format, kind } = sniff(options.keyring, value);
  const envelope: RawEnvelope = {
    recordId: value.recordId,
    jobId: value.jobId ?? 'replay',
    sourceId: value.sourceId,
    resourceType: value.resourceType ?? 'unknown',
    kind,
    format,
    payload: value.payload,
    keyId: value.keyId,
    sourceLocator: `quarantine ${value.sourceTopic}/${value.sourcePartition}@${value.sourceOffset}`,
    extractedAt: value.quarantinedAt,
    sizeBytes: 0,
  };
  if (!isRawEnvelope(envelope)) return undefined;
  return {
    envelope,
    // The original position, so drift and new quarantine records point at the raw record.
    position: { topic: value.sourceTopic, partition: value.sourcePartition, offset: value.sourceOffset },
    key: options.key,
    replayCount: value.replayCount + 1,
  };
}

/**
 * The version part of the record id of a deletion, as the extractor derives it (its
 * `DELETED_VERSION`; services do not import services, the raw envelope's doc states the rule).
 */
const DELETED_VERSION = 'deleted';

/** Largest payload looked at for a DELETE: `{resourceType, id}` is tiny. */
const MAX_DELETE_PAYLOAD = 512;

function sniff(ring: Keyring, value: QuarantineRecord): { format: RawFormat; kind: RawEnvelope['kind'] } {
  let plain: Buffer;
  try {
    plain = decryptPayload(ring, value.payload);
  } catch {
    // Not decryptable: validation quarantines it again as decrypt_failed.
    return { format: 'FHIR_JSON', kind: 'UPSERT' };
  }
  const head = plain.subarray(0, 16).toString('latin1').trimStart();
  if (head.startsWith('MSH')) return { format: 'HL7V2', kind: 'UPSERT' };
  if (head.startsWith('ISA')) return { format: 'X12', kind: 'UPSERT' };
  return { format: 'FHIR_JSON', kind: isDeletionOf(plain, value) ? 'DELETE' : 'UPSERT' };
}

function isDeletionOf(plain: Buffer, value: QuarantineRecord): boolean {
  if (plain.byteLength > MAX_DELETE_PAYLOAD) return false;
  let json: unknown;
  try {
    json = JSON.parse(plain.toString('utf8'));
  } catch {
    return false;
  }
  if (json === null || typeof json !== 'object') return false;
  const { resourceType, id } = json as Record<string, unknown>;
  return (
    typeof resourceType === 'string' &&
    typeof id === 'string' &&
    recordIdOf(value.sourceId, resourceType, id, DELETED_VERSION) === value.recordId
  );
}

async function rawStarts(
  parts: ValidatorParts,
  source: Exclude<ReplaySource, { kind: 'quarantine' }>,
): Promise<Map<number, string>> {
  if (source.kind === 'raw-offset') return new Map([[source.partition, source.offset]]);
  const admin = parts.kafka.kafkajs.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsetsByTimestamp(parts.topics.raw, source.since.getTime());
    // -1: no record at or after the time in that partition; start at its end (nothing to read).
    const ends = await admin.fetchTopicOffsets(parts.topics.raw);
    return new Map(
      offsets.map((o) => [
        o.partition,
        o.offset === '-1' ? (ends.find((e) => e.partition === o.partition)?.high ?? '0') : o.offset,
      ]),
    );
  } finally {
    await admin.disconnect();
  }
}
