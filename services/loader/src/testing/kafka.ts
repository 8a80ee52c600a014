/** Kafka and registry helpers for the loader's integration tests (unique topics and subjects per test). */
import {
  canonicalText,
  createCodec,
  createRegistry,
  type Codec,
  type SchemaRegistry,
} from '@ehrflow/contracts';
import { createKafka, type KafkaClient } from '@ehrflow/kafka';
import { createLogger, type Logger } from '@ehrflow/logging';
import type { Admin } from 'kafkajs';

export const TEST_BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
export const TEST_REGISTRY_URL = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7';

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
    retry: { retries: 5, initialRetryTimeMs: 100, maxRetryTimeMs: 2_000 },
  });
}

export function testRegistry(): SchemaRegistry {
  return createRegistry({ url: TEST_REGISTRY_URL });
}

export async function createTopics(
  admin: Admin,
  topics: readonly string[],
  partitions: number,
): Promise<void> {
  await admin.createTopics({
    waitForLeaders: true,
    topics: topics.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
  });
}

export async function deleteTopics(admin: Admin, topics: readonly string[]): Promise<void> {
  await admin.deleteTopics({ topics: [...topics] }).catch(() => undefined);
}

/** Registers a schema (JSON) under a subject; returns its id and version. */
export function register(
  registry: SchemaRegistry,
  subject: string,
  schema: unknown,
): Promise<{ id: number; version: number }> {
  return registry.register(subject, canonicalText(schema));
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

/** Polls `condition` until it holds; fails naming `what` after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  options: { readonly timeoutMs: number; readonly intervalMs?: number; readonly what: string },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100));
  }
}
