import { randomBytes } from 'node:crypto';
import { PipelineError } from '@ehrflow/errors';
import { connectAdmin, toKafkaError, type KafkaClient } from '@ehrflow/kafka';
import { headersOf } from './headers.ts';

/** One record met by a scan (committed records only). */
export interface ScannedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
}

export interface ScanOptions {
  /** Upper bound of the whole scan. Default 120 s. */
  readonly timeoutMs?: number;
}

/**
 * Reads topics from their first retained offset up to their end as of the start of the scan,
 * handing each committed record to `onRecord` (records of aborted transactions are not seen).
 * Uses a throw-away consumer group that commits nothing and is deleted afterwards.
 *
 * @returns how many records were scanned.
 * @throws PipelineError RETRIES_EXHAUSTED naming the partitions that did not reach their end in
 *   time (an upstream transaction left open keeps the readable end below the high watermark).
 */
export async function scanTopics(
  kafka: KafkaClient,
  topics: readonly string[],
  onRecord: (record: ScannedRecord) => void | Promise<void>,
  options: ScanOptions = {},
): Promise<number> {
  const admin = await connectAdmin(kafka);
  const groupId = `ehrflow-scan-${randomBytes(6).toString('hex')}`;
  let consumer: ReturnType<KafkaClient['kafkajs']['consumer']> | undefined;
  let scanned = 0;
  let failure: Error | undefined;
  try {
    const ends = new Map<string, bigint>();
    for (const topic of topics) {
      const offsets = await admin.fetchTopicOffsets(topic).catch((err: unknown) => {
        throw toKafkaError(err, 'scan', { topic });
      });
      for (const p of offsets)
        if (BigInt(p.high) > BigInt(p.low)) ends.set(`${topic}|${p.partition}`, BigInt(p.high));
    }
    if (ends.size === 0) return 0;
    const pending = new Set(ends.keys());
    consumer = kafka.kafkajs.consumer({
      groupId,
      readUncommitted: false,
      maxWaitTimeInMs: 200,
      allowAutoTopicCreation: false,
    });
    // Fires for every fetched batch, also one holding only transaction markers: the reliable end signal.
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      const key = `${e.payload.topic}|${e.payload.partition}`;
      const end = ends.get(key);
      if (end !== undefined && BigInt(e.payload.lastOffset) + 1n >= end) pending.delete(key);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const end = ends.get(`${batch.topic}|${batch.partition}`) ?? 0n;
        for (const m of batch.messages) {
          if (failure !== undefined || BigInt(m.offset) >= end) break;
          scanned++;
          try {
            await onRecord({
              topic: batch.topic,
              partition: batch.partition,
              offset: m.offset,
              value: m.value,
              headers: headersOf(m.headers),
            });
          } catch (err) {
            // Reported by the wait loop below; throwing here would only make kafkajs retry the batch.
            failure =
              err instanceof Error
                ? err
                : new PipelineError('PARSE_ERROR', 'topic scan: a record could not be handled');
          }
        }
      },
    });
    const deadline = Date.now() + (options.timeoutMs ?? 120_000);
    while (pending.size > 0) {
      if (failure !== undefined) throw failure;
      if (Date.now() > deadline) {
        throw new PipelineError(
          'RETRIES_EXHAUSTED',
          `topic scan did not reach the end of ${pending.size} partition(s): ${[...pending].slice(0, 5).join(', ')}`,
          {
            context: { partitions: pending.size },
          },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (failure !== undefined) throw failure;
    return scanned;
  } finally {
    await consumer?.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}
