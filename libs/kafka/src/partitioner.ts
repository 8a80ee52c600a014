import { randomInt } from 'node:crypto';
import murmurhash from 'murmurhash';
import type { ICustomPartitioner, PartitionerArgs } from 'kafkajs';

/**
 * The producers' partitioner: the Java client's default for keyed records, so a key lands on the
 * partition every Kafka client (and kafkajs' `DefaultPartitioner`, used before) gives it —
 * `murmur2(utf8(key)) & 0x7fffffff % partitions` — which keeps each patient's records in order
 * across versions. Keyless records go round robin over the partitions with a leader, from a random
 * start per topic, as kafkajs' does.
 *
 * Why not kafkajs' own: it computes murmur2 with an emulated 64-bit `Long`, allocating several
 * objects per 4 key bytes (~4.4 µs per 64-character key; 5–6% of the bytes a producing stage
 * allocates), and filters the partition list on every message. `murmurhash`'s MurmurHash2 with
 * Kafka's seed is the same function at ~0.1 µs: unit tests hold it to Apache Kafka's own murmur2
 * known-answer vectors (the Java client's `Utils.murmur2`) and to kafkajs' on random keys of every
 * length up to 200 bytes.
 *
 * @see https://github.com/apache/kafka/blob/trunk/clients/src/main/java/org/apache/kafka/common/utils/Utils.java (murmur2)
 */
export const keyPartitioner: ICustomPartitioner = () => {
  const counters = new Map<string, number>();
  return ({ topic, partitionMetadata, message }: PartitionerArgs): number => {
    if (message.partition !== null && message.partition !== undefined) return message.partition;
    const key = message.key;
    if (key !== null && key !== undefined) return keyPartition(key, partitionMetadata.length);
    const next = (counters.get(topic) ?? randomInt(0x7fffffff)) + 1;
    counters.set(topic, next);
    const available = partitionMetadata.filter((p) => p.leader >= 0);
    if (available.length > 0)
      return (available[toPositive(next) % available.length] as { partitionId: number }).partitionId;
    return toPositive(next) % partitionMetadata.length;
  };
};

/** Kafka's seed of murmur2 for partitioning. */
const KAFKA_MURMUR2_SEED = 0x9747b28c;

/** The partition of a keyed record among `partitions`. */
export function keyPartition(key: Buffer | string, partitions: number): number {
  return (
    toPositive(murmurhash.v2(typeof key === 'string' ? utf8(key) : key, KAFKA_MURMUR2_SEED)) % partitions
  );
}

const toPositive = (x: number): number => x & 0x7fffffff;

/** A key's UTF-8 bytes, written into a reused buffer (a view of it, valid until the next call). */
let scratch = Buffer.allocUnsafe(256);
function utf8(key: string): Uint8Array {
  if (key.length * 3 > scratch.length) scratch = Buffer.allocUnsafe(key.length * 3);
  return scratch.subarray(0, scratch.write(key, 0, 'utf8'));
}
