import type { Codec, SchemaRegistry } from '@ehrflow/contracts';
import { createCodec, deletionsTopicOf } from '@ehrflow/contracts';
import { isPipelineError, isProgrammerError } from '@ehrflow/errors';
import {
  createConsumerRunner,
  type KafkaClient,
  type KafkaMessage,
  type PositionStore,
} from '@ehrflow/kafka';
import type { Logger } from '@ehrflow/logging';
import type { Pool } from 'pg';
import { createBatchDecoder, type TopicState } from './batch-decoder.ts';
import { checkDeletionSchema, createDeletionDecoder } from './deletions.ts';
import {
  BATCH_OUTCOMES,
  loadBatch,
  type BatchContext,
  type BatchOutcome,
  type BeforeCommit,
  type BatchRecord,
  type DecodedSlice,
  type PartitionBatch,
} from './load-batch.ts';
import { createMarkerPositions } from './marker-positions.ts';
import { migrate, type MigrationReport } from './migrate.ts';
import { checkIdentifier } from './names.ts';
import { toDatabaseError } from '@ehrflow/service/database';
import { forgetPositionsPastEnd, positionKey, readPositions } from './positions.ts';
import { RESOURCE_TYPES } from './resource-types.ts';
import { tableModelOf, type TableModel } from './table-model.ts';
import { createWriter, type WriteMode } from './writers.ts';

export interface LoaderOptions {
  readonly kafka: KafkaClient;
  readonly registry: SchemaRegistry;
  /** Decoder of clean records; defaults to a codec over `registry`. */
  readonly codec?: Codec;
  /** The warehouse. The caller owns it (and ends it after `stop()`). */
  readonly pool: Pool;
  readonly logger: Logger;
  /** Database schema of the tables and the loader's bookkeeping. Default `clean`. */
  readonly schema?: string;
  /** Consumer group; also the key of the stored positions. Default `ehrflow-loader`. */
  readonly groupId?: string;
  /** Resource types to load. Default {@link RESOURCE_TYPES}. */
  readonly resourceTypes?: readonly string[];
  /** Topic of a type is `<topicPrefix><Type>`, its value subject `<topic>-value`. Default `ehr.clean.`. */
  readonly topicPrefix?: string;
  /**
   * Whether to consume `<topicPrefix>deletions` (subject `<topic>-value`, `schemas/pipeline/deletion.avsc`)
   * and apply each deletion as a tombstone to the table of its resource type. Default true; tests
   * of the upsert path turn it off.
   */
  readonly deletions?: boolean;
  /** Default `staging` (COPY + merge), the faster one in `bench.ts`. */
  readonly writeMode?: WriteMode;
  /** Most records per database transaction. Default 2000. */
  readonly maxBatch?: number;
  /** Partitions loaded at the same time (each in its own transaction). Default 2. */
  readonly concurrency?: number;
  readonly sessionTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  /** Longest a fetch waits for data; bounds how long `stop()` waits when idle. Default 1000. */
  readonly maxWaitTimeMs?: number;
  /**
   * Bytes fetched per partition at once, which bounds a transaction from above. Default 4 MiB
   * (~2 000 clean records of 1.5–2 KB: `bench.ts` measured larger transactions a little faster).
   */
  readonly maxBytesPerPartition?: number;
  /** Retry of a batch whose transaction failed transiently (database or registry unavailable). */
  readonly retry?: Partial<LoaderRetry>;
  /** Test seam: runs inside each batch transaction after rows and position are written, before COMMIT. */
  readonly beforeCommit?: BeforeCommit;
  /** Told after each committed batch (metrics). An exception it throws is ignored. */
  readonly onBatch?: (event: BatchEvent) => void;
}

/** One committed batch, as `onBatch` sees it. */
export interface BatchEvent extends BatchOutcome {
  readonly topic: string;
  /** The resource type of the topic, or `deletions` for the deletions topic (its batches span tables). */
  readonly resourceType: string;
  readonly partition: number;
  readonly durationMs: number;
}

/** Monotonic counters since start (except `lastBatchMs`). */
export interface LoaderCounters {
  /** Records taken from Kafka into a batch transaction (a redelivered record counts again). */
  readonly consumed: number;
  /** Rows inserted or replaced by a newer version. */
  readonly upserted: number;
  /** Tombstones applied. */
  readonly deleted: number;
  /** Records older than or equal to the row (not applied). */
  readonly ignored: number;
  /** Records below the stored position (loaded before a crash or rebalance). */
  readonly skipped: number;
  /** Records that could not be decoded (kept in `loader_rejects`). */
  readonly rejected: number;
  /** Committed batch transactions. */
  readonly batches: number;
  /** Batch attempts that failed transiently and were retried. */
  readonly retries: number;
  /** Columns added at run time for a newly registered schema version. */
  readonly migrations: number;
  readonly lastBatchMs: number;
}

export interface Loader {
  /** Stops fetching, lets the batch in flight commit, leaves the group. Idempotent. */
  stop(): Promise<void>;
  /** In the consumer group, running and not stopping. */
  ready(): boolean;
  counters(): LoaderCounters;
  /** Settles when the loader ends: resolves after `stop()`, rejects with the error that stopped it. */
  readonly done: Promise<void>;
  /** What the start-up migration did. */
  readonly migration: MigrationReport;
  /** The topics consumed: one per resource type, then the deletions topic (when on). */
  readonly topics: readonly string[];
}

type MutableCounters = { -readonly [K in keyof LoaderCounters]: LoaderCounters[K] };

/** Back-off of a failed batch: doubling with full jitter from `initialMs` up to `maxMs`, `retries` times. */
export interface LoaderRetry {
  readonly retries: number;
  readonly initialMs: number;
  readonly maxMs: number;
}

const DEFAULT_RETRY: LoaderRetry = { retries: 30, initialMs: 200, maxMs: 10_000 };

/**
 * Starts the loader: reads the registered clean schema of every resource type, migrates the
 * tables (refusing to start on an incompatible change), reads the stored positions and joins the
 * consumer group. Each fetched partition batch is loaded in one database transaction together
 * with the partition's next offset; nothing is committed to Kafka. On (re)assignment the consumer
 * seeks to the stored positions, so a restart resumes exactly after the last committed batch.
 * The deletions topic is consumed the same way: each batch's deletions become tombstones in the
 * tables of their resource types, in the one transaction that also stores its position.
 *
 * @throws PipelineError SCHEMA_NOT_REGISTERED (a clean subject, or the deletions', is missing), TABLE_INCOMPATIBLE,
 *   DATABASE_UNAVAILABLE, KAFKA_UNAVAILABLE.
 */
export async function startLoader(options: LoaderOptions): Promise<Loader> {
  const schema = checkIdentifier(
    options.schema ?? 'clean',
    'database schema (LOADER_DB_SCHEMA)',
    'CONFIG_INVALID',
  );
  const groupId = options.groupId ?? 'ehrflow-loader';
  const prefix = options.topicPrefix ?? 'ehr.clean.';
  const maxBatch = options.maxBatch ?? 2000;
  const { pool, registry, logger } = options;
  const codec = options.codec ?? createCodec(registry);
  const writer = createWriter(options.writeMode ?? 'staging');
  const log = logger.child({ component: 'loader', groupId });

  const states = new Map<string, TopicState>();
  for (const resourceType of options.resourceTypes ?? RESOURCE_TYPES) {
    const topic = `${prefix}${resourceType}`;
    const subject = `${topic}-value`;
    const latest = await registry.latest(subject);
    const model = tableModelOf(resourceType, latest.text, `${subject} v${latest.version}`);
    states.set(topic, {
      resourceType,
      topic,
      subject,
      schemaId: latest.id,
      model,
      checked: new Set([latest.id]),
    });
    log.info(
      { subject, version: latest.version, schemaId: latest.id, table: model.table },
      'clean schema read',
    );
  }
  const deletionsTopic = options.deletions === false ? undefined : deletionsTopicOf(prefix);
  if (deletionsTopic !== undefined) {
    const subject = `${deletionsTopic}-value`;
    const latest = await registry.latest(subject);
    checkDeletionSchema(latest.text, `${subject} v${latest.version}`);
    log.info({ subject, version: latest.version, schemaId: latest.id }, 'deletion schema read');
  }
  const topics = [...states.keys(), ...(deletionsTopic === undefined ? [] : [deletionsTopic])];
  const migration = await migrate(
    pool,
    schema,
    [...states.values()].map((s) => ({ model: s.model, source: { subject: s.subject, id: s.schemaId } })),
  );
  for (const table of migration.created) log.info({ schema, table }, 'table created');
  for (const a of migration.added) log.info({ schema, ...a }, 'column added for a new optional field');
  for (const r of migration.retired)
    log.warn({ schema, ...r }, 'field no longer in the schema; column kept, new rows leave it null');
  const positions = await readPositions(pool, schema, groupId, topics);
  const forgotten = await forgetPositionsPastEnd(
    pool,
    schema,
    groupId,
    positions,
    await partitionEnds(options.kafka, topics),
  );
  for (const f of forgotten)
    log.warn(f, 'stored position past the end of its partition (topic recreated); loading it from the start');

  const counters: MutableCounters = {
    consumed: 0,
    upserted: 0,
    deleted: 0,
    ignored: 0,
    skipped: 0,
    rejected: 0,
    batches: 0,
    retries: 0,
    migrations: 0,
    lastBatchMs: 0,
  };

  const decode = createBatchDecoder({
    codec,
    registry,
    pool,
    schema,
    log,
    onMigrated: (n) => {
      counters.migrations += n;
    },
  });

  const byType = new Map([...states.values()].map((s) => [s.resourceType, s]));
  const decodeDeletions = createDeletionDecoder({ codec, served: new Set(byType.keys()), log });
  /** The table of a deletion (the decoder let only served types through). */
  const tableOfDeletion = (record: BatchRecord): TableModel => {
    const state = byType.get(String(record.value.resourceType));
    if (state === undefined) throw new TypeError('a deletion of a type without a table passed the decoder');
    return state.model;
  };

  /** How the records of one topic are decoded, which table each goes to, and its metric label. */
  interface TopicRoute {
    readonly label: string;
    decode(partition: number, messages: readonly KafkaMessage[]): Promise<DecodedSlice>;
    model(): BatchContext['model'];
  }
  function routeOf(topic: string): TopicRoute {
    if (topic === deletionsTopic) {
      return {
        label: 'deletions',
        decode: (partition, messages) => decodeDeletions(topic, partition, messages),
        model: () => tableOfDeletion,
      };
    }
    const state = states.get(topic);
    if (state === undefined) throw new TypeError(`batch for an unexpected topic ${topic}`);
    return {
      label: state.resourceType,
      decode: (partition, messages) => decode(state, partition, messages),
      // Read per attempt: a run-time migration replaces the model.
      model: () => state.model,
    };
  }

  /**
   * The loader's positions live in PostgreSQL, written in the transaction that writes the rows:
   * the shared runner seeks to them on assignment, hands each chunk here and commits nothing to
   * Kafka.
   */
  const positionStore: PositionStore = {
    next: (topic, partition) => positions.get(positionKey(topic, partition))?.toString(),
    async store({ topic, partition, messages, commit }) {
      const route = routeOf(topic);
      const started = Date.now();
      let outcome: BatchOutcome;
      try {
        // The chunk ends where the fetch ends, transaction markers after the last record included.
        const chunk: PartitionBatch = {
          topic,
          partition,
          ...(await route.decode(partition, messages)),
          lastOffset: (BigInt(commit.offset) - 1n).toString(),
        };
        outcome = await loadBatch(
          {
            pool,
            schema,
            groupId,
            model: route.model(),
            writer,
            ...(options.beforeCommit ? { beforeCommit: options.beforeCommit } : {}),
          },
          chunk,
        );
      } catch (err) {
        throw isPipelineError(err) || isProgrammerError(err) ? err : toDatabaseError(err, 'batch');
      }
      positions.set(positionKey(topic, partition), outcome.next);
      counters.consumed += messages.length;
      for (const k of BATCH_OUTCOMES) counters[k] += outcome[k];
      counters.batches++;
      counters.lastBatchMs = Date.now() - started;
      notify({
        ...outcome,
        topic,
        resourceType: route.label,
        partition,
        durationMs: counters.lastBatchMs,
      });
      return { records: outcome.fresh, next: outcome.next.toString() };
    },
    skip(point) {
      markers.note(point.topic, point.partition, (BigInt(point.offset) - 1n).toString());
      return Promise.resolve();
    },
  };

  function notify(event: BatchEvent): void {
    try {
      options.onBatch?.(event);
    } catch {
      // Metrics must not change what the loader does.
    }
  }

  const retry = { ...DEFAULT_RETRY, ...options.retry };
  const runner = createConsumerRunner({
    kafka: options.kafka,
    groupId,
    topics,
    positionStore,
    maxBatch,
    partitionsConsumedConcurrently: options.concurrency ?? 2,
    sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 3_000,
    maxWaitTimeMs: options.maxWaitTimeMs ?? 1_000,
    maxBytesPerPartition: options.maxBytesPerPartition ?? 4 * 1024 * 1024,
    // The runner's back-off doubles with full jitter; `retries` more attempts after the first.
    retry: { initialMs: retry.initialMs, maxMs: retry.maxMs, maxAttempts: retry.retries + 1 },
    logger: log,
  });
  // A batch of only transaction markers never reaches the store as a chunk; the runner reports its
  // end through `skip`, and those positions are written once a second (see marker-positions.ts).
  const markers = createMarkerPositions({ pool, schema, groupId, positions, log });
  const markerTimer = setInterval(() => void markers.flush(), 1_000);
  markerTimer.unref();

  let stopping: Promise<void> | undefined;
  const running = runner.run();
  const done = running.finally(async () => {
    clearInterval(markerTimer);
    await markers.flush();
  });
  // A caller that only calls stop() may never look at `done`; its rejection must not go unhandled.
  done.catch(() => undefined);
  try {
    await runner.started();
  } catch (err) {
    clearInterval(markerTimer);
    throw err;
  }
  log.info({ topics, schema, writeMode: writer.mode, maxBatch }, 'loader started');

  return {
    stop: () => {
      stopping ??= runner.stop().then(() => done.catch(() => undefined));
      return stopping;
    },
    ready: () => runner.ready(),
    counters: () => ({ ...counters, retries: runner.stats().retries }),
    done,
    migration,
    topics,
  };
}

/** The end offset (high watermark) of every partition of the topics, keyed like positions. */
async function partitionEnds(kafka: KafkaClient, topics: readonly string[]): Promise<Map<string, bigint>> {
  const admin = kafka.kafkajs.admin();
  await admin.connect();
  try {
    const ends = new Map<string, bigint>();
    for (const topic of topics)
      for (const p of await admin.fetchTopicOffsets(topic))
        ends.set(positionKey(topic, p.partition), BigInt(p.high));
    return ends;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
