import type { Message, TopicMessages } from 'kafkajs';

/**
 * Bytes of records one produce call carries at most. The broker refuses a partition's record batch
 * above `message.max.bytes` (1 MiB by default) as a permanent error, and kafkajs puts everything a
 * call sends to one partition in one batch; a stage whose input fans out (one X12 transaction set
 * → hundreds of Claim records, on few partitions) would build such a batch. Calls stay under this
 * total, so every partition's batch does. A single record above it goes alone (the broker decides).
 */
export const MAX_SEND_BYTES = 900 * 1024;

/** Record overhead in a v2 record batch (length, attributes, deltas, header counts), rounded up. */
const RECORD_OVERHEAD = 32;

/** What one record adds to a batch: key, value, headers and the record's own fields. */
export function messageBytes(m: Message): number {
  let n = RECORD_OVERHEAD;
  if (m.key !== null && m.key !== undefined) n += Buffer.byteLength(m.key);
  if (m.value !== null) n += Buffer.byteLength(m.value);
  for (const [k, v] of Object.entries(m.headers ?? {})) {
    n += Buffer.byteLength(k);
    for (const item of Array.isArray(v) ? v : [v]) if (item !== undefined) n += Buffer.byteLength(item);
  }
  return n;
}

/** Splits messages, in order, into runs of at most `max` bytes (a larger message is a run alone). */
export function splitMessages(messages: readonly Message[], max = MAX_SEND_BYTES): Message[][] {
  const runs: Message[][] = [];
  let run: Message[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = messageBytes(m);
    if (run.length > 0 && bytes + size > max) {
      runs.push(run);
      run = [];
      bytes = 0;
    }
    run.push(m);
    bytes += size;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/** {@link splitMessages} across topics: each run is a `sendBatch` of at most `max` bytes, in order. */
export function splitTopicMessages(
  topicMessages: readonly TopicMessages[],
  max = MAX_SEND_BYTES,
): TopicMessages[][] {
  const flat = topicMessages.flatMap((t) => t.messages.map((m) => ({ topic: t.topic, m })));
  const runs: TopicMessages[][] = [];
  let run: TopicMessages[] = [];
  let bytes = 0;
  const add = (topic: string, m: Message) => {
    const last = run.at(-1);
    if (last?.topic === topic) last.messages.push(m);
    else run.push({ topic, messages: [m] });
  };
  for (const { topic, m } of flat) {
    const size = messageBytes(m);
    if (run.length > 0 && bytes + size > max) {
      runs.push(run);
      run = [];
      bytes = 0;
    }
    add(topic, m);
    bytes += size;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}
