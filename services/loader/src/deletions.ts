import { KIND_HEADER, contractOf, type Codec } from '@ehrflow/contracts';
import { PipelineError } from '@ehrflow/errors';
import type { Logger } from '@ehrflow/logging';
import type { KafkaMessage } from '@ehrflow/kafka';
import { headersOf } from './headers.ts';
import { decodeSlice } from './batch-decoder.ts';
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
  return function decodeDeletions(topic: string, partition: number, messages: readonly KafkaMessage[]) {
    const slice = { topic, partition, messages, noun: 'deletion' };
    return decodeSlice(deps.codec, deps.log, slice, (m, { value, schemaId }) => {
      if (!DELETION_FIELDS.every((f) => typeof value[f] === 'string' && value[f] !== ''))
        return 'SCHEMA_MISMATCH';
      if (!deps.served.has(value.resourceType as string)) return 'UNKNOWN_RESOURCE_TYPE';
      return {
        offset: m.offset,
        value,
        headers: { ...headersOf(m.headers), [KIND_HEADER]: 'DELETE' },
        schemaId,
      };
    });
  };
}
