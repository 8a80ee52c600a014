// The patch must load before kafkajs' producer, as `@ehrflow/kafka`'s entry point does.
import { groupMessagesPerPartition, patchKafkaJsGrouping } from './grouping-patch.ts';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const inKafkaJs =
  require('kafkajs/src/producer/groupMessagesPerPartition.js') as typeof groupMessagesPerPartition;

describe('kafkajs grouping patch', () => {
  it('is what kafkajs’ producer loads', () => {
    expect(patchKafkaJsGrouping()).toBe('applied');
    expect(inKafkaJs).toBe(groupMessagesPerPartition);
  });

  it('groups messages by partition, each group in send order', () => {
    const messages = Array.from({ length: 500 }, (_, i) => ({ key: `k${i}`, seq: i }));
    const partitioner = ({ message }: { message: unknown }): number => (message as { seq: number }).seq % 7;
    const grouped = groupMessagesPerPartition({
      topic: 't',
      partitionMetadata: Array.from({ length: 7 }, (_, partitionId) => ({ partitionId })),
      messages,
      partitioner,
    });
    expect(Object.keys(grouped).map(Number).sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (const [partition, group] of Object.entries(grouped)) {
      const seqs = (group as { seq: number }[]).map((m) => m.seq);
      expect(seqs).toEqual(messages.filter((m) => m.seq % 7 === Number(partition)).map((m) => m.seq));
    }
  });

  it('returns nothing while the topic has no partition metadata, as kafkajs does', () => {
    const grouped = groupMessagesPerPartition({
      topic: 't',
      partitionMetadata: [],
      messages: [{ key: 'k' }],
      partitioner: () => 0,
    });
    expect(grouped).toEqual({});
  });
});
