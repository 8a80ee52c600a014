import type { Codec, DecodedRecord, SchemaRegistry } from '@ehrflow/contracts';
import { isPipelineError, type ErrorCode } from '@ehrflow/errors';
import type { Logger } from '@ehrflow/logging';
import type { KafkaMessage } from '@ehrflow/kafka';
import type { Pool } from 'pg';
import { headersOf } from './headers.ts';
import type { BatchRecord, DecodedSlice, RejectedRecord } from './load-batch.ts';
import { incompatible, migrate, writerSchemaChanges } from './migrate.ts';
import { tableModelOf, type TableModel } from './table-model.ts';

/** What the loader keeps per consumed topic (one per resource type). */
export interface TopicState {
  readonly resourceType: string;
  readonly topic: string;
  readonly subject: string;
  /** Id of the latest registered version at start. */
  readonly schemaId: number;
  /** The table's columns as the loader writes them; grows when a run-time migration adds one. */
  model: TableModel;
  /** Writer schema ids already checked against the table. */
  readonly checked: Set<number>;
}

export interface BatchDecoderDeps {
  readonly codec: Codec;
  readonly registry: SchemaRegistry;
  readonly pool: Pool;
  /** The loader's database schema. */
  readonly schema: string;
  readonly log: Logger;
  /** Told how many columns a run-time migration added. */
  readonly onMigrated: (columns: number) => void;
}

/** Consumed messages of one partition, and what the loader calls its records in logs. */
export interface MessageSlice {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly KafkaMessage[];
  /** `clean record`, `deletion`. */
  readonly noun: string;
}

/**
 * Decodes each message of a slice with its writer schema and hands it to `accept`, which returns
 * the batch record or the code it is rejected with. A record without a value, one the codec
 * refuses and one `accept` refuses (or throws a permanent error for) is returned as rejected
 * (kept in `loader_rejects`), never dropped.
 *
 * @throws PipelineError retryable or TABLE_INCOMPATIBLE, from the codec or `accept`.
 */
export async function decodeSlice(
  codec: Codec,
  log: Logger,
  slice: MessageSlice,
  accept: (
    m: KafkaMessage,
    decoded: DecodedRecord<Record<string, unknown>>,
  ) => BatchRecord | ErrorCode | Promise<BatchRecord | ErrorCode>,
): Promise<DecodedSlice> {
  const { topic, partition } = slice;
  const records: BatchRecord[] = [];
  const rejected: RejectedRecord[] = [];
  const reject = (m: KafkaMessage, code: ErrorCode, schemaId: number | null): void => {
    log.warn(
      { topic, partition, offset: m.offset, code },
      `${slice.noun} could not be loaded; kept in loader_rejects`,
    );
    rejected.push({ offset: m.offset, code, schemaId, raw: m.value });
  };
  for (const m of slice.messages) {
    if (m.value === null) {
      rejected.push({ offset: m.offset, code: 'PARSE_ERROR', schemaId: null, raw: null });
      continue;
    }
    let decoded: DecodedRecord<Record<string, unknown>> | undefined;
    try {
      decoded = await codec.decode<Record<string, unknown>>(m.value);
      const accepted = await accept(m, decoded);
      if (typeof accepted === 'string') reject(m, accepted, decoded.schemaId);
      else records.push(accepted);
    } catch (err) {
      if (!isPipelineError(err) || err.retryable || err.code === 'TABLE_INCOMPATIBLE') throw err;
      // The wire format's schema id (magic byte, then 4 bytes) when the codec could not tell it.
      const schemaId = decoded?.schemaId ?? (m.value.length >= 5 ? m.value.readUInt32BE(1) : null);
      reject(m, err.code, schemaId);
    }
  }
  return { records, rejected };
}

/**
 * Decodes consumed clean records with their writer schema. A writer schema not seen before is
 * checked against the table first: fields it adds become columns (a run-time migration, for a
 * version registered after start), a type change stops the loader (TABLE_INCOMPATIBLE). A record
 * that cannot be decoded is returned as rejected (kept in `loader_rejects`), never dropped.
 *
 * @throws PipelineError retryable (registry or database unavailable) or TABLE_INCOMPATIBLE.
 */
export function createBatchDecoder(deps: BatchDecoderDeps) {
  const { codec, registry, pool, schema, log } = deps;

  async function checkWriterSchema(state: TopicState, schemaId: number): Promise<void> {
    if (state.checked.has(schemaId)) return;
    const writer = await registry.byId(schemaId);
    const model = tableModelOf(state.resourceType, writer.text, `${state.subject} schema id ${schemaId}`);
    const { added, problems } = writerSchemaChanges(state.model, model);
    if (problems.length > 0) throw incompatible(schema, problems);
    if (added.length > 0) {
      const merged: TableModel = { ...state.model, columns: [...state.model.columns, ...added] };
      const report = await migrate(pool, schema, [
        { model: merged, source: { subject: state.subject, id: schemaId } },
      ]);
      deps.onMigrated(report.added.length);
      for (const a of report.added)
        log.info({ schema, ...a, schemaId }, 'column added for a new optional field (run time)');
      state.model = merged;
    }
    state.checked.add(schemaId);
  }

  return function decode(state: TopicState, partition: number, messages: readonly KafkaMessage[]) {
    const slice = { topic: state.topic, partition, messages, noun: 'clean record' };
    return decodeSlice(codec, log, slice, async (m, d) => {
      await checkWriterSchema(state, d.schemaId);
      return { offset: m.offset, value: d.value, headers: headersOf(m.headers), schemaId: d.schemaId };
    });
  };
}
