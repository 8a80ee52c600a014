import { randomBytes } from 'node:crypto';
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { keyPartition, keyPartitioner } from './partitioner.ts';

function partitions(n: number, leaderless: readonly number[] = []): PartitionMetadata[] {
  return Array.from({ length: n }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: leaderless.includes(partitionId) ? -1 : 0,
    replicas: [0],
    isr: [0],
  }));
}

/** Keys of every length up to 200 characters: hex pseudonyms, ASCII, and multi-byte UTF-8. */
function keys(): string[] {
  const out: string[] = [];
  for (let length = 0; length <= 200; length++) {
    out.push(randomBytes(length).toString('hex').slice(0, length));
    out.push(randomBytes(length).toString('latin1').slice(0, length));
    out.push('é€😀'.repeat(length).slice(0, length));
  }
  return out;
}

describe('keyPartitioner', () => {
  it('puts every key on the partition kafkajs’ Java-compatible partitioner gives it', () => {
    const theirs = Partitioners.DefaultPartitioner();
    const ours = keyPartitioner();
    const all = keys();
    for (const count of [1, 2, 3, 6, 7, 12, 64]) {
      const meta = partitions(count);
      for (const key of all) {
        const message = { key, value: null };
        expect(ours({ topic: 't', partitionMetadata: meta, message }), `key of ${key.length} chars`).toBe(
          theirs({ topic: 't', partitionMetadata: meta, message }),
        );
      }
    }
  });

  it("gives the murmur2 values of Kafka's own known-answer test (the Java client's Utils.murmur2)", () => {
    // Apache Kafka's clients UtilsTest#testMurmur2: key bytes -> murmur2 as a signed 32-bit int.
    const kafkaVectors: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    // Over 2^31 - 1 partitions the partition is the whole positive hash (none of these is 2^31 - 1).
    const wholeHash = 0x7fffffff;
    for (const [key, murmur2] of kafkaVectors) {
      expect(keyPartition(key, wholeHash), key).toBe(murmur2 & 0x7fffffff);
      expect(keyPartition(Buffer.from(key, 'latin1'), wholeHash), key).toBe(murmur2 & 0x7fffffff);
      for (const count of [1, 3, 6, 12, 64])
        expect(keyPartition(key, count)).toBe((murmur2 & 0x7fffffff) % count);
    }
  });

  it('hashes a Buffer key as its bytes and a string key as its UTF-8 bytes', () => {
    for (const key of keys()) expect(keyPartition(Buffer.from(key, 'utf8'), 12)).toBe(keyPartition(key, 12));
  });

  it('spreads keys over every partition', () => {
    const seen = new Set(Array.from({ length: 2_000 }, (_, i) => keyPartition(`patient-${i}`, 6)));
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('honours an explicit partition', () => {
    const ours = keyPartitioner();
    expect(
      ours({
        topic: 't',
        partitionMetadata: partitions(6),
        message: { key: 'k', value: null, partition: 4 },
      }),
    ).toBe(4);
  });

  it('sends keyless records round robin over the partitions that have a leader', () => {
    const ours = keyPartitioner();
    const meta = partitions(4, [1, 3]);
    const picked = Array.from({ length: 8 }, () =>
      ours({ topic: 't', partitionMetadata: meta, message: { value: null } }),
    );
    expect(new Set(picked)).toEqual(new Set([0, 2]));
    for (let i = 1; i < picked.length; i++) expect(picked[i]).not.toBe(picked[i - 1]);
  });
});
