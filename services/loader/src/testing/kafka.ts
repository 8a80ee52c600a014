/** Kafka and registry helpers for the loader's integration tests (unique topics and subjects per test). */
import { createCodec, type Codec, type SchemaRegistry } from '@ehrflow/contracts';
import { localRegistry } from '@ehrflow/contracts/testing';
import { createKafka, type KafkaClient } from '@ehrflow/kafka';
import { createLogger, type Logger } from '@ehrflow/logging';
import { FAST_KAFKA_RETRY, localStack } from '@ehrflow/testing';

export const TEST_BROKERS = localStack().brokers;
export const TEST_REGISTRY_URL = localStack().registryUrl;

/** Quiet unless LOADER_TEST_LOG is set (then at that level). */
export function testLogger(): Logger {
  return createLogger({ name: 'loader-test', level: process.env.LOADER_TEST_LOG ?? 'silent' });
}

export function testKafka(clientId: string, logger: Logger = testLogger()): KafkaClient {
  return createKafka({
    brokers: TEST_BROKERS,
    clientId,
    logger,
    mode: 'development',
    retry: FAST_KAFKA_RETRY,
  });
}

export function testRegistry(): SchemaRegistry {
  return localRegistry().registry;
}

export interface ProduceOptions {
  readonly partition?: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Kafka key of each value; default `k<index>`. */
  readonly key?: (value: Record<string, unknown>, index: number) => string;
}

/**
 * Encodes values with the latest version of `<topic>-value` and produces them (acks=all), in
 * chunks, in order.
 */
export async function produceValues(
  kafka: KafkaClient,
  codec: Codec,
  topic: string,
  values: readonly Record<string, unknown>[],
  options: ProduceOptions = {},
): Promise<void> {
  const producer = kafka.kafkajs.producer({
    allowAutoTopicCreation: false,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  try {
    for (let start = 0; start < values.length; start += 500) {
      const messages = [];
      for (let i = start; i < Math.min(values.length, start + 500); i++) {
        const value = values[i] as Record<string, unknown>;
        messages.push({
          key: options.key ? options.key(value, i) : `k${i}`,
          value: await codec.encode(`${topic}-value`, value),
          ...(options.partition === undefined ? {} : { partition: options.partition }),
          ...(options.headers ? { headers: { ...options.headers } } : {}),
        });
      }
      await producer.send({ topic, messages, acks: -1 });
    }
  } finally {
    await producer.disconnect();
  }
}

export function testCodec(registry: SchemaRegistry): Codec {
  // refreshMs 0: a version registered during a test is used at once.
  return createCodec(registry, { refreshMs: 0 });
}
