import type { CommitPoint } from './delivery.ts';

/** Counters for metrics. All monotonic except `lastBatchMs` and `lag`. */
export interface ConsumerStats {
  /** Records fetched and handed to processing (a re-delivered record counts again). */
  readonly consumed: number;
  /** Output messages acknowledged by Kafka. */
  readonly produced: number;
  /** Input records whose offsets are committed. */
  readonly committed: number;
  /** Chunks completed (handled, produced, committed). */
  readonly batches: number;
  /** Chunk attempts that failed transiently and were retried. */
  readonly retries: number;
  readonly decodeErrors: number;
  readonly quarantined: number;
  /** Wall time of the last completed chunk, handler through commit. */
  readonly lastBatchMs: number;
  /** Records behind the high watermark, summed over assigned partitions, as of the last fetch. */
  readonly lag: number;
  /** Bytes (keys and values) of the fetched batch being processed now; 0 between batches. */
  readonly inFlightBytes: number;
  /** The most `inFlightBytes` has been since start. */
  readonly peakInFlightBytes: number;
}

type MutableStats = { -readonly [K in keyof ConsumerStats]: ConsumerStats[K] };

/**
 * What a runner has done, for metrics, and where it has committed, so it never commits a
 * partition backwards. Lag comes free from the high watermark of each fetched batch, without
 * admin requests; it is as fresh as the last fetch.
 */
export class RunnerProgress {
  private readonly counters: MutableStats = {
    consumed: 0,
    produced: 0,
    committed: 0,
    batches: 0,
    retries: 0,
    decodeErrors: 0,
    quarantined: 0,
    lastBatchMs: 0,
    lag: 0,
    inFlightBytes: 0,
    peakInFlightBytes: 0,
  };
  private readonly lagByPartition = new Map<string, number>();
  private readonly committedNext = new Map<string, bigint>();

  snapshot(): ConsumerStats {
    return { ...this.counters };
  }

  fetched(records: number): void {
    this.counters.consumed += records;
  }

  /** Bytes of the batch in process (0 when it is done). */
  inFlight(bytes: number): void {
    this.counters.inFlightBytes = bytes;
    if (bytes > this.counters.peakInFlightBytes) this.counters.peakInFlightBytes = bytes;
  }

  retried(): void {
    this.counters.retries += 1;
  }

  /** A chunk went through: its outputs are durable and `point` is committed. */
  chunkDone(
    point: CommitPoint,
    result: { records: number; outputs: number; decodeErrors: number; quarantined: number },
    elapsedMs: number,
  ): void {
    this.markCommitted(point);
    const c = this.counters;
    c.produced += result.outputs;
    c.committed += result.records;
    c.batches += 1;
    c.decodeErrors += result.decodeErrors;
    c.quarantined += result.quarantined;
    if (elapsedMs > 0) c.lastBatchMs = elapsedMs;
  }

  /** How long the last chunk took, attempts and back-off included. */
  tookMs(elapsedMs: number): void {
    this.counters.lastBatchMs = elapsedMs;
  }

  markCommitted(point: CommitPoint): void {
    const key = keyOf(point.topic, point.partition);
    const next = BigInt(point.offset);
    if ((this.committedNext.get(key) ?? -1n) < next) this.committedNext.set(key, next);
  }

  /** Whether committing `point` would move the partition forward. */
  advances(point: CommitPoint): boolean {
    return (this.committedNext.get(keyOf(point.topic, point.partition)) ?? -1n) < BigInt(point.offset);
  }

  /** Records behind `highWatermark` when the next offset to read is `position`. */
  setLag(topic: string, partition: number, highWatermark: string, position: string): void {
    const lag = BigInt(highWatermark) - BigInt(position);
    this.lagByPartition.set(keyOf(topic, partition), lag > 0n ? Number(lag) : 0);
    this.sumLag();
  }

  /** Forgets partitions this member no longer owns (after a rebalance). */
  keepOnly(assignment: Readonly<Record<string, readonly number[]>>): number {
    const assigned = new Set<string>();
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const partition of partitions) assigned.add(keyOf(topic, partition));
    }
    for (const key of [...this.lagByPartition.keys()])
      if (!assigned.has(key)) this.lagByPartition.delete(key);
    this.sumLag();
    return assigned.size;
  }

  private sumLag(): void {
    let sum = 0;
    for (const lag of this.lagByPartition.values()) sum += lag;
    this.counters.lag = sum;
  }
}

function keyOf(topic: string, partition: number): string {
  return `${topic}|${partition}`;
}
