import { KIND_HEADER, contractOf, type Codec } from '@ehrflow/contracts';
import { PipelineError, isPipelineError, type ErrorCode } from '@ehrflow/errors';
import type { Logger } from '@ehrflow/logging';
import type { KafkaMessage } from '@ehrflow/kafka';
import { headersOf } from './headers.ts';
import type { DecodedSlice } from './batch-decoder.ts';
import type { BatchRecord } from './load-batch.ts';
import { REQUIRED_META_FIELDS } from './table-model.ts';

/** Fields a deletion must carry for the loader to route, key and account for it. */
export const DELETION_FIELDS = [...REQUIRED_META_FIELDS, 'resourceType'] as const;

/**
 * Checks the registered schema of the deletions topic at start: every field of
 * {@link DELETION_FIELDS} must be a string.
 *
 * @throws PipelineError TABLE_INCOMPATIBLE naming the subject and the field.
 */
export function checkDeletionSchema(text: string, label: string): void {
  const contract = contractOf(JSON.parse(text) as unknown, label);
  for (const name of DELETION_FIELDS) {
    const field = contract.fields.find((f) => f.path === name);
    if (field?.avroType !== 'string') {
      throw new PipelineError(
        'TABLE_INCOMPATIBLE',
        `${label}: the loader needs a string field ${name} in a deletion (found ${field?.avroType ?? 'none'})`,
        { context: { field: name } },
      );
    }
  }
}

export interface DeletionDecoderDeps {
  readonly codec: Codec;
  /** The resource types the loader has a table for. */
  readonly served: ReadonlySet<string>;
  readonly log: Logger;
}

/**
 * Decodes records of the deletions topic. Each becomes a tombstone of its `resourceType`'s table
 * (the header `ehrflow-kind: DELETE` is set whatever the producer sent, because the topic itself
 * says "deleted"); a record that does not decode, lacks a field the loader needs or names a type
 * without a table is rejected (kept in `loader_rejects` with its code), never dropped.
 *
 * @throws PipelineError retryable (registry unavailable).
 */
export function createDeletionDecoder(deps: DeletionDecoderDeps) {
  return async function decodeDeletions(
    topic: string,
    partition: number,
    messages: readonly KafkaMessage[],
  ): Promise<DecodedSlice> {
    const records: BatchRecord[] = [];
    const rejected: DecodedSlice['rejected'] = [];
    const reject = (m: KafkaMessage, code: ErrorCode, schemaId: number | null): void => {
      deps.log.warn(
        { topic, partition, offset: m.offset, code },
        'deletion could not be loaded; kept in loader_rejects',
      );
      rejected.push({ offset: m.offset, code, schemaId, raw: m.value });
    };
    for (const m of messages) {
      if (m.value === null) {
        rejected.push({ offset: m.offset, code: 'PARSE_ERROR', schemaId: null, raw: null });
        continue;
      }
      let decoded;
      try {
        decoded = await deps.codec.decode<Record<string, unknown>>(m.value);
      } catch (err) {
        if (!isPipelineError(err) || err.retryable) throw err;
        reject(m, err.code, m.value.length >= 5 ? m.value.readUInt32BE(1) : null);
        continue;
      }
      const v = decoded.value;
      if (!DELETION_FIELDS.every((f) => typeof v[f] === 'string' && v[f] !== '')) {
        reject(m, 'SCHEMA_MISMATCH', decoded.schemaId);
        continue;
      }
      if (!deps.served.has(v.resourceType as string)) {
        reject(m, 'UNKNOWN_RESOURCE_TYPE', decoded.schemaId);
        continue;
      }
      records.push({
        offset: m.offset,
        value: v,
        headers: { ...headersOf(m.headers), [KIND_HEADER]: 'DELETE' },
        schemaId: decoded.schemaId,
      });
    }
    return { records, rejected };
  };
}
