import type { Admin } from 'kafkajs';
import type { KafkaClient } from './client.ts';
import { toKafkaError } from './kafka-errors.ts';

/** The admin calls lag needs (a kafkajs `Admin` satisfies it). */
export type LagAdmin = Pick<Admin, 'fetchOffsets' | 'fetchTopicOffsets'>;

export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  /** Records between the group's committed offset and the partition's end. */
  readonly lag: number;
  /** The group's committed offset, or null when it has committed nothing there yet. */
  readonly committed: string | null;
  /** The high watermark (next offset to be written). */
  readonly end: string;
}

/**
 * Lag of a consumer group per partition of `topics`. A partition the group never committed counts
 * from its earliest retained offset (that is where a new group with `fromBeginning` starts).
 *
 * Behind a transactional producer the end includes the commit markers, so a fully caught-up group
 * whose runner commits past them (ours does) shows 0.
 */
export async function consumerLag(
  admin: LagAdmin,
  groupId: string,
  topics: readonly string[],
): Promise<PartitionLag[]> {
  try {
    const committed = await admin.fetchOffsets({ groupId, topics: [...topics] });
    const out: PartitionLag[] = [];
    for (const topic of topics) {
      const ends = await admin.fetchTopicOffsets(topic);
      const group = committed.find((c) => c.topic === topic)?.partitions ?? [];
      for (const { partition, high, low } of ends) {
        const raw = group.find((p) => p.partition === partition)?.offset;
        const at = raw === undefined || raw === '-1' ? null : raw;
        const from = BigInt(at ?? low);
        const lag = BigInt(high) - from;
        out.push({ topic, partition, lag: lag > 0n ? Number(lag) : 0, committed: at, end: high });
      }
    }
    return out.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  } catch (err) {
    throw toKafkaError(err, 'lag', { groupId });
  }
}

/** Sum of `lag` over partitions. */
export function totalLag(lags: readonly PartitionLag[]): number {
  return lags.reduce((sum, p) => sum + p.lag, 0);
}

/** Connects an admin client of `client` (disconnect it when done). `KAFKA_UNAVAILABLE` if unreachable. */
export async function connectAdmin(client: KafkaClient): Promise<Admin> {
  const admin = client.kafkajs.admin();
  try {
    await admin.connect();
  } catch (err) {
    throw toKafkaError(err, 'connect');
  }
  return admin;
}
