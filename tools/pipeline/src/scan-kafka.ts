import { randomUUID } from 'node:crypto';
import type { Admin, Kafka } from '@ehrflow/kafka';
import type { CanaryMatcher } from '@ehrflow/testing';
import type { LeakHit } from './leak-report.ts';
import type { ValueScanner } from './scan-value.ts';

/** One Kafka record as the scan sees it: bytes, nothing decoded yet. */
export interface ScannedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly headers: Readonly<Record<string, Buffer | string | undefined>>;
  readonly value: Buffer | null;
  /** Record timestamp, epoch ms. */
  readonly timestamp: number;
}

/** Decodes a Confluent-framed value (the contracts codec satisfies it). */
export interface ValueDecoder {
  decode(buf: Buffer): Promise<{ value: unknown }>;
}

export interface RecordScanOutcome {
  readonly hits: LeakHit[];
  readonly encryptedChecked: number;
  readonly protectedMatches: number;
  /** False when the value did not decode; its bytes were then scanned as clear text. */
  readonly decoded: boolean;
}

/**
 * Scans one record: key and headers as clear text, the value decoded with the codec and walked
 * field by field (encrypted fields and payloads checked as ciphertext). A value that does not
 * decode is scanned as raw bytes, so nothing escapes the scan by being malformed.
 */
export async function scanKafkaRecord(
  record: ScannedRecord,
  decoder: ValueDecoder,
  scanner: ValueScanner,
  matcher: CanaryMatcher,
): Promise<RecordScanOutcome> {
  const where = `${record.topic}/${record.partition}@${record.offset}`;
  const hits: LeakHit[] = [];
  const clear = (location: string, bytes: Buffer): void => {
    for (const m of matcher.findInBytes(bytes)) {
      hits.push({ source: 'kafka', location, canary: m.index, count: m.count, kind: 'clear' });
    }
  };
  if (record.key !== null) clear(`${where} key`, record.key);
  for (const [name, header] of Object.entries(record.headers)) {
    clear(`${where} header name`, Buffer.from(name));
    if (header !== undefined) clear(`${where} header ${safeName(name, matcher)}`, Buffer.from(header));
  }
  if (record.value === null) return { hits, encryptedChecked: 0, protectedMatches: 0, decoded: true };

  let value: unknown;
  try {
    value = (await decoder.decode(record.value)).value;
  } catch {
    clear(`${where} value (undecodable)`, record.value);
    return { hits, encryptedChecked: 0, protectedMatches: 0, decoded: false };
  }
  const recordId = (value as { recordId?: unknown } | null)?.recordId;
  const result = scanner.scan(value, typeof recordId === 'string' ? [recordId] : []);
  for (const h of result.hits) {
    hits.push({
      source: 'kafka',
      location: `${where} ${h.path}`,
      canary: h.canary,
      count: h.count,
      kind: h.kind,
    });
  }
  return {
    hits,
    encryptedChecked: result.encryptedChecked,
    protectedMatches: result.protectedMatches,
    decoded: true,
  };
}

export interface ReadTopicsOptions {
  readonly topics: readonly string[];
  /** Start at the first record at or after this time (epoch ms); default: each partition's start. */
  readonly sinceMs?: number;
  /** Give up after this long; unfinished partitions are reported. Default 120 s. */
  readonly timeoutMs?: number;
}

export interface ReadTopicsResult {
  readonly records: number;
  /** `topic/partition` not read up to the end captured at start (empty when complete). */
  readonly unfinished: string[];
}

/**
 * Reads every record of `topics` from the start (or `sinceMs`) up to the end offsets captured
 * when the read begins, with a throwaway consumer group (deleted afterwards). Reads uncommitted
 * data too: a record of an aborted transaction is still stored by the broker, so it can leak.
 *
 * Completion is observed through the group's committed offsets, which kafkajs also advances past
 * transaction markers that never reach a handler.
 */
export async function readTopics(
  kafka: Kafka,
  options: ReadTopicsOptions,
  onRecord: (record: ScannedRecord) => Promise<void>,
): Promise<ReadTopicsResult> {
  const groupId = `ehrflow-leak-scan-${randomUUID()}`;
  const admin = kafka.admin();
  await admin.connect();
  const consumer = kafka.consumer({
    groupId,
    readUncommitted: true,
    maxWaitTimeInMs: 500,
    allowAutoTopicCreation: false,
  });
  let records = 0;
  try {
    const targets = await startAndEndOffsets(admin, options);
    if (targets.every((t) => t.start >= t.end)) return { records: 0, unfinished: [] };
    await consumer.connect();
    await consumer.subscribe({ topics: [...options.topics], fromBeginning: true });
    await consumer.run({
      // Commit every resolved offset, also for batches kafkajs filters out (transaction
      // markers): completion is read from the committed offsets.
      autoCommitThreshold: 1,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          await onRecord({
            topic: batch.topic,
            partition: batch.partition,
            offset: m.offset,
            key: m.key,
            headers: flattenHeaders(m.headers),
            value: m.value,
            timestamp: Number(m.timestamp),
          });
          records += 1;
        }
      },
    });
    // kafkajs applies a seek once the partition is assigned. (admin.setOffsets would join the
    // group once per topic: seconds each.)
    for (const t of targets) {
      if (t.start < t.end)
        consumer.seek({ topic: t.topic, partition: t.partition, offset: t.start.toString() });
    }
    const deadline = Date.now() + (options.timeoutMs ?? 120_000);
    let unfinished = await pending(admin, groupId, targets);
    while (unfinished.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      unfinished = await pending(admin, groupId, targets);
    }
    return { records, unfinished };
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

interface PartitionTarget {
  readonly topic: string;
  readonly partition: number;
  readonly start: bigint;
  readonly end: bigint;
}

async function startAndEndOffsets(admin: Admin, options: ReadTopicsOptions): Promise<PartitionTarget[]> {
  const out: PartitionTarget[] = [];
  for (const topic of options.topics) {
    const ends = await admin.fetchTopicOffsets(topic);
    const starts =
      options.sinceMs === undefined
        ? ends.map((p) => ({ partition: p.partition, offset: p.low }))
        : await admin.fetchTopicOffsetsByTimestamp(topic, options.sinceMs);
    const partitions = ends.map((p) => {
      const raw = starts.find((s) => s.partition === p.partition)?.offset ?? p.low;
      // -1 means "no record at or after the timestamp": nothing to read there.
      const start = raw === '-1' ? BigInt(p.high) : BigInt(raw);
      return { topic, partition: p.partition, start, end: BigInt(p.high) };
    });
    out.push(...partitions);
  }
  return out;
}

async function pending(
  admin: Admin,
  groupId: string,
  targets: readonly PartitionTarget[],
): Promise<string[]> {
  const topics = [...new Set(targets.map((t) => t.topic))];
  const committed = await admin.fetchOffsets({ groupId, topics });
  return targets
    .filter((t) => {
      const raw = committed
        .find((c) => c.topic === t.topic)
        ?.partitions.find((p) => p.partition === t.partition)?.offset;
      if (t.start >= t.end) return false;
      return raw === undefined || raw === '-1' || BigInt(raw) < t.end;
    })
    .map((t) => `${t.topic}/${t.partition}`);
}

function flattenHeaders(
  headers: Record<string, unknown> | undefined,
): Record<string, Buffer | string | undefined> {
  const out: Record<string, Buffer | string | undefined> = {};
  for (const [name, raw] of Object.entries(headers ?? {})) {
    const first: unknown = Array.isArray(raw) ? raw[0] : raw;
    out[name] = Buffer.isBuffer(first) || typeof first === 'string' ? first : undefined;
  }
  return out;
}

function safeName(name: string, matcher: CanaryMatcher): string {
  return matcher.find(name).length > 0 ? '<header name>' : name;
}
