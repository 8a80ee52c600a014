import { randomUUID } from 'node:crypto';
import { PipelineError } from '@ehrflow/errors';
import type { KafkaClient } from './client.ts';
import type { KafkaMessage } from './client-exports.ts';

export interface RangeMessage {
  readonly partition: number;
  readonly message: KafkaMessage;
}

export interface ReadRangeOptions {
  /** Start offset per partition; partitions not listed start at their beginning (or are skipped with `only`). */
  readonly from?: ReadonlyMap<number, string>;
  /** Read only the partitions in `from`. */
  readonly only?: boolean;
  readonly timeoutMs?: number;
  /** Leave out records of open and aborted transactions (default true). */
  readonly readCommitted?: boolean;
}

/**
 * Reads a topic from the given offsets up to its end as of the call, with a throw-away consumer
 * group that commits nothing. For the validator's replay and baseline commands and tests: a
 * bounded read, not a subscription. Positions are tracked through kafkajs' batch events, which
 * also fire for batches holding only transaction markers, so the read ends exactly at the end.
 */
export async function readRange(
  kafka: KafkaClient,
  topic: string,
  onBatch: (messages: readonly RangeMessage[]) => Promise<void>,
  options: ReadRangeOptions = {},
): Promise<number> {
  const admin = kafka.kafkajs.admin();
  await admin.connect();
  let ends;
  try {
    ends = await admin.fetchTopicOffsets(topic);
  } finally {
    await admin.disconnect();
  }
  const starts = new Map<number, bigint>();
  const pending = new Map<number, bigint>();
  for (const e of ends) {
    const requested = options.from?.get(e.partition);
    if (options.only === true && requested === undefined) continue;
    const start = requested === undefined ? BigInt(e.low) : BigInt(requested);
    starts.set(e.partition, start);
    if (BigInt(e.high) > start) pending.set(e.partition, BigInt(e.high));
  }
  if (pending.size === 0) return 0;

  const groupId = `ehrflow-reader-${randomUUID()}`;
  const consumer = kafka.kafkajs.consumer({
    groupId,
    readUncommitted: options.readCommitted === false,
    maxWaitTimeInMs: 250,
  });
  let read = 0;
  let failure: Error | undefined;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
    const end = pending.get(e.payload.partition);
    if (end !== undefined && BigInt(e.payload.lastOffset) + 1n >= end) pending.delete(e.payload.partition);
    if (pending.size === 0) finish();
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const start = starts.get(batch.partition);
        const end = pending.get(batch.partition);
        if (start === undefined || end === undefined) return;
        const wanted = batch.messages
          .filter((m) => BigInt(m.offset) >= start && BigInt(m.offset) < end)
          .map((message) => ({ partition: batch.partition, message }));
        read += wanted.length;
        try {
          if (wanted.length > 0) await onBatch(wanted);
        } catch (err) {
          failure = err instanceof Error ? err : new Error('range handler failed');
          pending.clear();
          finish();
        }
      },
    });
    for (const [partition, start] of starts) consumer.seek({ topic, partition, offset: start.toString() });
    const timeoutMs = options.timeoutMs ?? 120_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([finished.then(() => 'done' as const), timeout]).finally(() =>
      clearTimeout(timer),
    );
    if (outcome === 'timeout') {
      throw new PipelineError(
        'KAFKA_UNAVAILABLE',
        `reading ${topic} did not reach its end within ${timeoutMs} ms`,
        {
          context: { topic, timeoutMs },
        },
      );
    }
  } finally {
    await consumer.disconnect();
    const admin2 = kafka.kafkajs.admin();
    await admin2
      .connect()
      .then(() => admin2.deleteGroups([groupId]))
      .catch(() => undefined);
    await admin2.disconnect().catch(() => undefined);
  }
  if (failure !== undefined) throw failure;
  return read;
}
