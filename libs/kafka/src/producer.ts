import type { Message, Producer } from 'kafkajs';
import type { KafkaClient } from './client.ts';
import { encodeValue, type Codec } from './codec.ts';
import { isProducerStateLost, toKafkaError } from './kafka-errors.ts';
import type { KafkaLogger } from './logger.ts';
import { keyPartitioner } from './partitioner.ts';
import { toKafkaMessage, type OutgoingMessage } from './records.ts';
import { MAX_SEND_BYTES, splitMessages } from './send-limit.ts';

/**
 * The one way this package makes a kafkajs producer: idempotent (so kafkajs' own retries never
 * duplicate or reorder), one request in flight (kafkajs' idempotence bookkeeping assumes it), the
 * Java client's murmur2 partitioning (`partitioner.ts`; a partitioner chosen explicitly is also what
 * silences kafkajs v2's partitioner warning), and no topic auto-creation (a misspelt topic must fail, not appear).
 * @see https://kafka.apache.org/documentation/#producerconfigs_enable.idempotence
 */
export function newKafkaJsProducer(client: KafkaClient, transactionalId?: string): Producer {
  return client.kafkajs.producer({
    createPartitioner: keyPartitioner,
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    ...(transactionalId ? { transactionalId } : {}),
  });
}

/**
 * Encodes every message for `topic` with the codec (subject `<topic>-value`). All messages are
 * encoded before anything is sent; the lowest failing index is thrown.
 */
export async function encodeMessages(
  codec: Codec,
  topic: string,
  messages: readonly OutgoingMessage[],
): Promise<Message[]> {
  const settled = await Promise.allSettled(messages.map((m, i) => encodeValue(codec, topic, m.value, i)));
  const out: Message[] = [];
  for (const [i, result] of settled.entries()) {
    if (result.status === 'rejected') throw result.reason;
    out.push(toKafkaMessage(messages[i] as OutgoingMessage, result.value));
  }
  return out;
}

export interface ProducerOptions {
  readonly kafka: KafkaClient;
  readonly codec: Codec;
  /** When set, every `send` is its own Kafka transaction (all of it visible, or none). */
  readonly transactionalId?: string;
  readonly logger?: KafkaLogger;
  /**
   * Bytes of records one produce call carries at most (default {@link MAX_SEND_BYTES}); a `send`
   * above it goes out in several calls, in order. For topics that take less than 1 MiB:
   * `sendLimit` of their record limits (topic-limits.ts).
   */
  readonly maxSendBytes?: number;
}

/** A producer of codec-encoded records. */
export interface RecordProducer {
  /** Connects; `KAFKA_UNAVAILABLE` when the cluster cannot be reached after kafkajs' retries. */
  connect(): Promise<void>;
  /**
   * Encodes and produces `messages` to `topic` with acks=all, resolving once every replica in sync
   * has them. A message that breaks the topic's schema rejects the whole call before anything is
   * sent, with a contract `PipelineError` (normally `SCHEMA_MISMATCH`) whose context carries the
   * message's `index`: quarantine that one and send the rest again.
   */
  send(topic: string, messages: readonly OutgoingMessage[]): Promise<void>;
  disconnect(): Promise<void>;
}

/** Creates an idempotent (optionally transactional) producer of codec-encoded records. */
export function createProducer(options: ProducerOptions): RecordProducer {
  const { kafka, codec, transactionalId } = options;
  const maxSendBytes = options.maxSendBytes ?? MAX_SEND_BYTES;
  const logger = (options.logger ?? kafka.logger).child({ component: 'producer' });
  let producer = newKafkaJsProducer(kafka, transactionalId);
  // Set when a transaction could be neither committed nor aborted, or when the broker lost this
  // producer's sequence (a broker restart): the next send starts from a fresh producer, whose
  // initialisation fences the old epoch and has the broker abort its leftovers, or gets a new
  // producer id whose sequences start again from 0.
  let broken = false;
  const renew = async (): Promise<void> => {
    await producer.disconnect().catch(() => undefined);
    producer = newKafkaJsProducer(kafka, transactionalId);
    await producer.connect();
    broken = false;
  };

  return {
    async connect() {
      try {
        await producer.connect();
      } catch (err) {
        throw toKafkaError(err, 'connect');
      }
      logger.info({ transactional: transactionalId !== undefined }, 'producer connected');
    },

    async send(topic, messages) {
      if (messages.length === 0) return;
      const encoded = await encodeMessages(codec, topic, messages);
      const context = { topic, messages: messages.length };
      if (!transactionalId) {
        try {
          if (broken) await renew();
          for (const run of splitMessages(encoded, maxSendBytes))
            await producer.send({ topic, messages: run, acks: -1 });
        } catch (err) {
          if (isProducerStateLost(err)) {
            broken = true;
            logger.warn(
              { err: toKafkaError(err, 'send', context) },
              'producer sequence lost; renewing the producer',
            );
          }
          throw toKafkaError(err, 'send', context);
        }
        return;
      }
      let tx;
      try {
        if (broken) await renew();
        tx = await producer.transaction();
        for (const run of splitMessages(encoded, maxSendBytes))
          await tx.send({ topic, messages: run, acks: -1 });
        await tx.commit();
      } catch (err) {
        if (tx?.isActive()) {
          await tx.abort().catch((abortErr: unknown) => {
            broken = true;
            logger.warn({ err: toKafkaError(abortErr, 'abort', context) }, 'transaction abort failed');
          });
        } else {
          broken = true;
        }
        if (isProducerStateLost(err)) broken = true;
        throw toKafkaError(err, 'send', context);
      }
    },

    async disconnect() {
      await producer.disconnect();
    },
  };
}
