/**
 * Helpers for this package's integration tests (`*.int.test.ts`) and their child-process worker.
 * Not exported from the package.
 *
 * The JSON codec below stands in for the registry-backed Avro codec of `@ehrflow/contracts`:
 * it implements the same `Codec` interface (contract failures as `SCHEMA_MISMATCH`, bad bytes as
 * `PARSE_ERROR`), which is all the runner relies on.
 */
import { PipelineError } from '@ehrflow/errors';
import { deleteTopics, FAST_KAFKA_RETRY, localStack, RUN_ID, waitFor } from '@ehrflow/testing';
import { Partitioners, type Admin } from 'kafkajs';
import { createKafka, type KafkaClient } from '../client.ts';
import { readRange } from '../topic-reader.ts';
import type { Codec } from '../codec.ts';
import type { ConsumerRunner } from '../consumer-runner.ts';
import type { KafkaLogger } from '../logger.ts';

/** A JSON codec: a value with `invalid: true` breaks the "schema"; bytes that are not JSON do not decode. */
export function jsonTestCodec(): Codec {
  return {
    encode(subject, value) {
      if (typeof value !== 'object' || value === null || (value as { invalid?: unknown }).invalid === true) {
        return Promise.reject(
          new PipelineError('SCHEMA_MISMATCH', 'value does not match the test schema', {
            context: { subject },
          }),
        );
      }
      return Promise.resolve(Buffer.from(JSON.stringify(value)));
    },
    decode(buf) {
      try {
        return Promise.resolve({ value: JSON.parse(buf.toString('utf8')) as unknown, schemaId: 1 });
      } catch {
        return Promise.reject(new PipelineError('PARSE_ERROR', 'not JSON'));
      }
    },
  };
}

export interface LogLine {
  readonly level: string;
  readonly obj: object;
  readonly msg: string | undefined;
}

/** A logger that keeps lines in memory (and prints warnings and errors when `KAFKA_TEST_VERBOSE` is set). */
export function memoryLogger(lines: LogLine[] = [], bindings: Record<string, unknown> = {}): KafkaLogger {
  const at =
    (level: string) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, obj: { ...bindings, ...obj }, msg });
      if (process.env.KAFKA_TEST_VERBOSE && (level === 'warn' || level === 'error')) {
        console.error(level, msg, JSON.stringify({ ...bindings, ...obj }));
      }
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => memoryLogger(lines, { ...bindings, ...more }),
  };
}

/** Deletes the topics given and every consumer group this test process named. */
export async function cleanUp(admin: Admin, topics: readonly string[]): Promise<void> {
  await deleteTopics(admin, topics);
  const { groups } = await admin.listGroups();
  const ours = groups.map((g) => g.groupId).filter((id) => id.includes(`.${RUN_ID}.`));
  if (ours.length > 0) await admin.deleteGroups(ours).catch(() => undefined);
}

/** A client for the local broker with fast retries, so failures surface quickly in tests. */
export function testClient(clientId: string, logger: KafkaLogger = memoryLogger()): KafkaClient {
  return createKafka({
    brokers: localStack().brokers,
    clientId,
    logger,
    mode: 'development',
    retry: FAST_KAFKA_RETRY,
  });
}

/** Produces records `{ id: "r<i>" }` for i in [from, to), keyed by id, in batches. */
export async function produceNumbered(
  client: KafkaClient,
  topic: string,
  from: number,
  to: number,
): Promise<void> {
  const producer = client.kafkajs.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    for (let start = from; start < to; start += 1000) {
      const messages = [];
      for (let i = start; i < Math.min(to, start + 1000); i++) {
        messages.push({ key: `k${i % 97}`, value: Buffer.from(JSON.stringify({ id: `r${i}`, n: i })) });
      }
      await producer.send({ topic, messages, acks: -1 });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Produces raw bytes (for records that must not decode). */
export async function produceRaw(
  client: KafkaClient,
  topic: string,
  values: readonly (Buffer | null)[],
): Promise<void> {
  const producer = client.kafkajs.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    await producer.send({ topic, messages: values.map((value, i) => ({ key: `raw${i}`, value })), acks: -1 });
  } finally {
    await producer.disconnect();
  }
}

/**
 * Reads a topic from the beginning up to its current end and returns the JSON values. With
 * `readCommitted`, records of open or aborted transactions are not returned.
 */
export async function readAll(
  client: KafkaClient,
  topic: string,
  options: { readonly readCommitted: boolean; readonly timeoutMs?: number },
): Promise<unknown[]> {
  const values: unknown[] = [];
  await readRange(
    client,
    topic,
    (messages) => {
      for (const { message } of messages)
        if (message.value) values.push(JSON.parse(message.value.toString('utf8')));
      return Promise.resolve();
    },
    { readCommitted: options.readCommitted, timeoutMs: options.timeoutMs ?? 60_000 },
  );
  return values;
}

/**
 * Runs `runner` until it has committed `count` inputs, then stops it. Fails at once if the runner
 * stops by itself first (a refused batch is permanent), and after `timeoutMs` otherwise.
 */
export async function runUntilCommitted(
  runner: ConsumerRunner,
  count: number,
  timeoutMs = 60_000,
): Promise<void> {
  const running = runner.run();
  const stopped = running.then(() => {
    throw new Error('the runner stopped before committing every input');
  });
  stopped.catch(() => undefined);
  await Promise.race([
    waitFor(() => runner.stats().committed >= count, { timeoutMs, intervalMs: 50, what: `commit ${count}` }),
    stopped,
  ]);
  await runner.stop();
  await running;
}
