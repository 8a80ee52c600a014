import { onceKafkaJsSwap } from './module-swap.ts';

/**
 * Makes kafkajs 2.2.4 group the messages of a send by partition in linear time.
 *
 * Why: its `groupMessagesPerPartition` appends each message by copying the partition's whole list
 * (`[...current, message]`), so a send of n messages to a few partitions copies ~n²/(2 × partitions)
 * array slots and allocates n arrays: for our 500-message chunks, 4–5% of the bytes the validator
 * and the redactor allocate. The replacement returns the same object (partition → messages in send
 * order), built with one array per partition. kafkajs' producer takes the function when it loads
 * (see `module-swap.ts`); too late or another version: kafkajs' own stays and the client warns.
 */

interface GroupArgs {
  readonly topic: string;
  readonly partitionMetadata: readonly unknown[];
  readonly messages: readonly unknown[];
  readonly partitioner: (args: {
    topic: string;
    partitionMetadata: readonly unknown[];
    message: unknown;
  }) => number;
}

/** What kafkajs' function returns, built in one pass. */
export function groupMessagesPerPartition({
  topic,
  partitionMetadata,
  messages,
  partitioner,
}: GroupArgs): Record<number, unknown[]> {
  const result: Record<number, unknown[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    (result[partition] ??= []).push(message);
  }
  return result;
}

/** Applies the patch once per process; returns what happened (the same answer on every call). */
export const patchKafkaJsGrouping = onceKafkaJsSwap({
  target: 'src/producer/groupMessagesPerPartition.js',
  capturedBy: 'src/producer/sendMessages.js',
  replacement: () => groupMessagesPerPartition,
});

patchKafkaJsGrouping();
