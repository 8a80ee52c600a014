import type { Producer, TopicMessages, TopicOffsets, Transaction } from 'kafkajs';
import type { KafkaClient } from './client.ts';
import { isProducerStateLost, toKafkaError } from './kafka-errors.ts';
import type { KafkaLogger } from './logger.ts';
import { newKafkaJsProducer } from './producer.ts';
import { splitTopicMessages } from './send-limit.ts';

/**
 * How a stage makes its outputs durable and moves its input position:
 * - `transactional`: outputs and the consumer offset are written in one Kafka transaction
 *   (consume-transform-produce, exactly-once for read_committed readers).
 * - `at-least-once`: outputs are produced with acks=all, then the offset is committed. A crash
 *   between the two re-delivers the input; deterministic record ids make the duplicate harmless.
 * @see https://kafka.apache.org/documentation/#semantics
 */
export type DeliveryMode = 'transactional' | 'at-least-once';

/** The next offset to read for one partition, i.e. last processed offset + 1. */
export interface CommitPoint {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

export interface DeliverHooks {
  /** Commits offsets through the consumer (used by `at-least-once`). */
  readonly commitOffsets: (offsets: TopicOffsets[]) => Promise<void>;
  /** Runs after the outputs were produced and before the offset commits; throwing aborts. */
  readonly beforeCommit?: () => Promise<void>;
  /** Most bytes of records per produce call (send-limit.ts); defaults to `MAX_SEND_BYTES`. */
  readonly maxSendBytes?: number;
}

export interface Delivery {
  readonly mode: DeliveryMode;
  connect(): Promise<void>;
  /**
   * Makes `messages` durable and then (or atomically with them) commits `commit`. Never commits an
   * offset whose outputs are not acknowledged. Rejects with the raw kafkajs error (the caller
   * classifies it), after aborting the transaction if there was one.
   */
  deliver(messages: readonly TopicMessages[], commit: CommitPoint, hooks: DeliverHooks): Promise<void>;
  disconnect(): Promise<void>;
}

function toTopicOffsets(commit: CommitPoint): TopicOffsets[] {
  return [{ topic: commit.topic, partitions: [{ partition: commit.partition, offset: commit.offset }] }];
}

/**
 * Produce with acks=all, then commit through the consumer. A producer whose sequence the broker
 * lost (kafka-errors.ts, PRODUCER_STATE_LOST) is replaced by a new one from `newProducer` before
 * the chunk is delivered again; the outputs it may already have written are the duplicates
 * at-least-once allows.
 */
export function createAtLeastOnceDelivery(newProducer: () => Producer): Delivery {
  let producer = newProducer();
  let broken = false;
  return {
    mode: 'at-least-once',
    connect: () => producer.connect(),
    async deliver(messages, commit, hooks) {
      if (broken) {
        await producer.disconnect().catch(() => undefined);
        producer = newProducer();
        await producer.connect();
        broken = false;
      }
      try {
        for (const run of splitTopicMessages(messages, hooks.maxSendBytes))
          await producer.sendBatch({ topicMessages: run, acks: -1 });
      } catch (err) {
        if (isProducerStateLost(err)) broken = true;
        throw err;
      }
      await hooks.beforeCommit?.();
      await hooks.commitOffsets(toTopicOffsets(commit));
    },
    disconnect: () => producer.disconnect(),
  };
}

/**
 * One transaction per delivery: send outputs, add the consumer offset, commit. If an abort fails
 * (broker gone mid-transaction) the producer is replaced: re-initialising the same transactional
 * id fences the old epoch, and the broker aborts whatever it left open.
 *
 * A failed `commit()` is in doubt: the broker may have committed. Before the same chunk is tried
 * again, the producer is re-initialised (which waits for the broker to finish that transaction)
 * and the group's committed offset decides: already past the chunk means it did commit, and the
 * retry is skipped instead of producing its outputs a second time.
 * @see https://cwiki.apache.org/confluence/display/KAFKA/KIP-98+-+Exactly+Once+Delivery+and+Transactional+Messaging
 */
export function createTransactionalDelivery(options: {
  readonly kafka: KafkaClient;
  readonly transactionalId: string;
  readonly groupId: string;
  readonly logger: KafkaLogger;
  /** The group's committed offset of a partition (null when none), to settle an in-doubt commit. */
  readonly committedOffset: (topic: string, partition: number) => Promise<string | null>;
  /** For tests: a producer factory; defaults to this package's idempotent transactional producer. */
  readonly newProducer?: () => Producer;
}): Delivery {
  const newProducer =
    options.newProducer ?? (() => newKafkaJsProducer(options.kafka, options.transactionalId));
  let producer = newProducer();
  let broken = false;
  let inDoubt: CommitPoint | undefined;

  async function replaceProducer(): Promise<void> {
    const old = producer;
    producer = newProducer();
    await old.disconnect().catch(() => undefined);
    await producer.connect();
    broken = false;
  }

  /** True when the in-doubt transaction turned out committed for this very commit point. */
  async function settleInDoubt(commit: CommitPoint): Promise<boolean> {
    const doubt = inDoubt;
    if (!doubt) return false;
    await replaceProducer();
    const committed = await options.committedOffset(doubt.topic, doubt.partition);
    inDoubt = undefined;
    const landed = committed !== null && BigInt(committed) >= BigInt(doubt.offset);
    options.logger.info(
      { topic: doubt.topic, partition: doubt.partition, offset: doubt.offset, landed },
      'settled in-doubt transaction commit',
    );
    return (
      landed &&
      doubt.topic === commit.topic &&
      doubt.partition === commit.partition &&
      doubt.offset === commit.offset
    );
  }

  return {
    mode: 'transactional',
    connect: () => producer.connect(),
    async deliver(messages, commit, hooks) {
      if (await settleInDoubt(commit)) return;
      if (broken) await replaceProducer();
      let tx: Transaction | undefined;
      let committing = false;
      try {
        tx = await producer.transaction();
        // Under the broker's batch limit, however far one input fanned out (send-limit.ts).
        for (const run of splitTopicMessages(messages, hooks.maxSendBytes))
          await tx.sendBatch({ topicMessages: run, acks: -1 });
        await hooks.beforeCommit?.();
        await tx.sendOffsets({ consumerGroupId: options.groupId, topics: toTopicOffsets(commit) });
        committing = true;
        await tx.commit();
      } catch (err) {
        if (committing) {
          inDoubt = commit;
        } else if (tx?.isActive()) {
          try {
            await tx.abort();
          } catch (abortErr) {
            broken = true;
            options.logger.warn(
              { err: toKafkaError(abortErr, 'abort', { topic: commit.topic, partition: commit.partition }) },
              'transaction abort failed; the producer will be re-initialised',
            );
          }
        } else {
          broken = true;
        }
        if (isProducerStateLost(err)) broken = true;
        throw err;
      }
    },
    disconnect: () => producer.disconnect(),
  };
}
