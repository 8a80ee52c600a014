import type { KafkaMessage } from 'kafkajs';
import type { CommitPoint } from './delivery.ts';

/** One chunk of one partition for a position store: raw messages and the position past them. */
export interface StoredChunk {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly KafkaMessage[];
  /** The next offset after this chunk (trailing transaction markers included). */
  readonly commit: CommitPoint;
}

/** What a position store reports after loading a chunk. */
export interface StoredChunkResult {
  /** Records of the chunk it stored (the others were already stored, e.g. by a previous owner). */
  readonly records: number;
  /**
   * The stored next offset when it is past `commit.offset`: another consumer loaded further than
   * this fetch, and the runner continues from there.
   */
  readonly next?: string;
}

/**
 * A consumer that keeps its input positions outside Kafka, in the same transaction as what it
 * writes (the loader: rows and `next_offset` in one PostgreSQL transaction). The runner asks the
 * store where each assigned partition resumes, hands it chunks to write together with their
 * position, and never commits offsets to Kafka itself.
 * @see https://kafka.apache.org/documentation/#semantics ("store the offset in the same place as the output")
 */
export interface PositionStore {
  /**
   * The stored next offset of a partition, or undefined to start where the group's committed offset
   * (or `fromBeginning`) says. Synchronous: the runner seeks on assignment, before the first fetch.
   */
  next(topic: string, partition: number): string | undefined;
  /**
   * Writes a chunk and its position atomically. Throw a retryable `PipelineError` to have it offered
   * again after a back-off; anything else stops the runner.
   */
  store(chunk: StoredChunk): Promise<StoredChunkResult>;
  /**
   * Moves a position past offsets that carry no record for it (transaction markers, aborted
   * records). Best effort: a failure only leaves apparent lag until the next chunk.
   */
  skip(point: CommitPoint): Promise<void>;
}
