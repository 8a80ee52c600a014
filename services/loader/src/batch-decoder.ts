import type { Codec, SchemaRegistry } from '@ehrflow/contracts';
import { isPipelineError } from '@ehrflow/errors';
import type { Logger } from '@ehrflow/logging';
import type { KafkaMessage } from '@ehrflow/kafka';
import type { Pool } from 'pg';
import { headersOf } from './headers.ts';
import type { BatchRecord, RejectedRecord } from './load-batch.ts';
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

export interface DecodedSlice {
  readonly records: BatchRecord[];
  readonly rejected: RejectedRecord[];
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

  return async function decode(
    state: TopicState,
    partition: number,
    messages: readonly KafkaMessage[],
  ): Promise<DecodedSlice> {
    const records: BatchRecord[] = [];
    const rejected: RejectedRecord[] = [];
    for (const m of messages) {
      if (m.value === null) {
        rejected.push({ offset: m.offset, code: 'PARSE_ERROR', schemaId: null, raw: null });
        continue;
      }
      try {
        const d = await codec.decode<Record<string, unknown>>(m.value);
        await checkWriterSchema(state, d.schemaId);
        records.push({
          offset: m.offset,
          value: d.value,
          headers: headersOf(m.headers),
          schemaId: d.schemaId,
        });
      } catch (err) {
        if (!isPipelineError(err) || err.retryable || err.code === 'TABLE_INCOMPATIBLE') throw err;
        log.warn(
          { topic: state.topic, partition, offset: m.offset, code: err.code },
          'clean record could not be decoded; kept in loader_rejects',
        );
        rejected.push({
          offset: m.offset,
          code: err.code,
          schemaId: m.value.length >= 5 ? m.value.readUInt32BE(1) : null,
          raw: m.value,
        });
      }
    }
    return { records, rejected };
  };
}
