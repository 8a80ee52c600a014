/**
 * The seam the client comparison drives: each Kafka client under test implements the same two
 * things with the same batching — produce a batch with acks=all, and run one consume-transform-
 * produce stage that commits its input position only after its outputs are acknowledged
 * (`at-least-once`), or together with them in one Kafka transaction (`transactional`).
 */

/** One record as the benchmark produces it. */
export interface BenchRecord {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly headers: Readonly<Record<string, Buffer>>;
}

export type StageMode = 'at-least-once' | 'transactional';

export interface StageOptions {
  readonly from: string;
  readonly to: string;
  readonly groupId: string;
  readonly mode: StageMode;
  /** Stable per stage, so a restarted stage fences its previous self. */
  readonly transactionalId: string;
  /** Most records per chunk (one produce request or one transaction, then one commit). */
  readonly maxBatch: number;
  /** Turns an input record into its output. */
  readonly transform: (value: Buffer, key: Buffer | null) => BenchRecord;
  /** Called after a chunk's outputs were sent and before its position commits (crash injection). */
  readonly beforeCommit: (records: number) => void;
  /** Called once a chunk's position committed. */
  readonly onChunk: (records: number) => void;
}

export interface ClientAdapter {
  readonly name: string;
  /** Produces one batch with acks=all on an idempotent producer. */
  produce(topic: string, records: readonly BenchRecord[]): Promise<void>;
  /** Starts the stage; resolves once it consumes. */
  startStage(options: StageOptions): Promise<void>;
  close(): Promise<void>;
}

/**
 * `@confluentinc/kafka-javascript` is not among them: it cannot be installed where the registry is
 * the only network reached (its install downloads a prebuilt binary, then falls back to building
 * librdkafka with `--install-deps --source-deps-only`, which downloads zlib, OpenSSL, zstd and
 * curl sources). docs/architecture.md has the errors.
 */
export const CLIENT_NAMES = ['kafkajs', 'platformatic'] as const;
export type ClientName = (typeof CLIENT_NAMES)[number];

/** Loads a client's adapter; rejects with the reason when the client is not installed. */
export async function loadAdapter(name: ClientName, brokers: readonly string[]): Promise<ClientAdapter> {
  switch (name) {
    case 'kafkajs':
      return (await import('./kafkajs-adapter.ts')).createKafkaJsAdapter(brokers);
    case 'platformatic':
      return (await import('./platformatic-adapter.ts')).createPlatformaticAdapter(brokers);
  }
}
