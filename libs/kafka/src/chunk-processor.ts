import { PipelineError, isPipelineError } from '@ehrflow/errors';
import type { KafkaMessage, Message, TopicMessages, TopicOffsets } from 'kafkajs';
import { decodeValue, encodeValue, type Codec } from './codec.ts';
import type { CommitPoint, Delivery } from './delivery.ts';
import { isTooLargeRefusal } from './kafka-errors.ts';
import { readHeaders, toKafkaMessage, type InputRecord, type Output } from './records.ts';
import { messageBytes } from './send-limit.ts';
import { BROKER_DEFAULT_MAX_MESSAGE_BYTES, RECORD_MARGIN_BYTES, sendLimit } from './topic-limits.ts';

/**
 * Largest output record a stage produces when its topic's limit is unknown: the broker's default
 * `message.max.bytes` (1 MiB, what topics without their own `max.message.bytes` take, as
 * `ehr.valid.*` and `ehr.clean.*` in deploy/topics) less 16 KiB. The broker refuses a larger
 * record on every attempt; it would stop the stage on the same input after every restart.
 */
export const DEFAULT_MAX_OUTPUT_BYTES = BROKER_DEFAULT_MAX_MESSAGE_BYTES - RECORD_MARGIN_BYTES;

/** The record limit of a topic: one number for every topic, or looked up per topic. */
export type OutputLimit = number | ((topic: string) => number | Promise<number>);

/**
 * Turns a batch of input records into output messages. Throw a retryable `PipelineError`
 * (transient, rate-limited) to have the same batch offered again after a back-off; throw anything
 * else to stop the runner. Records the contract rejects are the handler's to quarantine (return a
 * quarantine output for them), not to throw.
 */
export type BatchHandler = (batch: readonly InputRecord[]) => Promise<readonly Output[]>;

/**
 * Called when an output does not match its topic's registered schema (a contract error from the
 * codec). Returns the message to produce instead — normally a record for `ehr.quarantine` saying
 * which field broke which rule. Without this hook such an output stops the runner.
 */
export type QuarantineHook = (output: Output, error: PipelineError) => Output | Promise<Output>;

/** Facts about a chunk about to commit. */
export interface ChunkInfo {
  readonly topic: string;
  readonly partition: number;
  readonly records: number;
  readonly outputs: number;
}

/**
 * Runs after a chunk's outputs were handed to Kafka and before its offsets commit (inside the
 * transaction in transactional mode). Throwing aborts the chunk like a handler error of the same
 * class: nothing of it becomes visible to read_committed readers and its offsets stay put. For
 * last-moment checks (a lease still held) and for fault injection in tests.
 */
export type BeforeCommitHook = (info: ChunkInfo) => void | Promise<void>;

export interface ChunkDeps {
  readonly codec: Codec;
  readonly handler: BatchHandler;
  readonly delivery: Delivery;
  readonly onQuarantine?: QuarantineHook;
  readonly beforeCommit?: BeforeCommitHook;
  /**
   * Outputs above their topic's limit go to `onQuarantine` as `TOO_LARGE`, and a produce call
   * stays under the smallest limit of its topics. Default {@link DEFAULT_MAX_OUTPUT_BYTES}.
   */
  readonly maxOutputBytes?: OutputLimit;
  /**
   * Reads a topic's limit from the broker again (undefined: not described), after the broker
   * refused a produce for its size: a lower limit than the chunk used makes the chunk's failure
   * `TOPIC_LIMIT_CHANGED` (transient), and its retry takes the new limit.
   */
  readonly refreshOutputLimit?: (topic: string) => Promise<number | undefined>;
}

export interface ChunkIo {
  /** Commits offsets through the consumer (at-least-once mode). */
  readonly commitOffsets: (offsets: TopicOffsets[]) => Promise<void>;
  /** Throws when the group started re-balancing while the handler ran (the chunk is given up). */
  readonly checkStillMember: () => void;
}

export interface ChunkResult {
  readonly records: number;
  readonly outputs: number;
  readonly decodeErrors: number;
  readonly quarantined: number;
}

/** Decodes a chunk of one partition; undecodable values become `decodeError` records. */
export async function decodeChunk(
  codec: Codec,
  topic: string,
  partition: number,
  messages: readonly KafkaMessage[],
): Promise<InputRecord[]> {
  return Promise.all(
    messages.map(async (m): Promise<InputRecord> => {
      const meta = {
        topic,
        partition,
        offset: m.offset,
        key: m.key === null ? null : m.key.toString('utf8'),
        headers: readHeaders(m.headers),
        timestamp: Number(m.timestamp),
      };
      const decoded = await decodeValue(codec, m.value, meta);
      if (decoded instanceof Error) return { ...meta, decodeError: decoded, raw: m.value };
      return { ...meta, value: decoded.value, schemaId: decoded.schemaId };
    }),
  );
}

/**
 * Encodes outputs grouped by topic (order kept within a topic). An output the codec refuses, or
 * one of more than its topic's limit (`maxOutputBytes`; key, value and headers), goes through
 * `onQuarantine` (the latter as `TOO_LARGE`); the replacement must encode, or the error
 * propagates. The replacement's size is the broker's to judge (the quarantine topic takes larger
 * records). `sendBytes` is what one produce call may carry to these topics.
 */
export async function encodeOutputs(
  codec: Codec,
  outputs: readonly Output[],
  onQuarantine: QuarantineHook | undefined,
  maxOutputBytes: OutputLimit = DEFAULT_MAX_OUTPUT_BYTES,
): Promise<{
  topicMessages: TopicMessages[];
  quarantined: number;
  sendBytes: number;
  /** The record limit applied to each topic written to. */
  limits: ReadonlyMap<string, number>;
}> {
  let quarantined = 0;
  const limits = new Map<string, number>();
  const limitOf = async (topic: string): Promise<number> => {
    let limit = limits.get(topic);
    if (limit === undefined) {
      limit = typeof maxOutputBytes === 'number' ? maxOutputBytes : await maxOutputBytes(topic);
      limits.set(topic, limit);
    }
    return limit;
  };
  const encoded = await Promise.all(
    outputs.map(async (output, index): Promise<{ topic: string; message: Message }> => {
      try {
        const message = toKafkaMessage(output, await encodeValue(codec, output.topic, output.value, index));
        const maxOutputBytes = limits.get(output.topic) ?? (await limitOf(output.topic));
        const bytes = messageBytes(message);
        if (bytes > maxOutputBytes) {
          throw new PipelineError(
            'TOO_LARGE',
            `output ${index} for topic ${output.topic} is ${bytes} bytes, above the limit of ${maxOutputBytes}`,
            { context: { topic: output.topic, entry: index, sizeBytes: bytes, maxBytes: maxOutputBytes } },
          );
        }
        return { topic: output.topic, message };
      } catch (err) {
        if (!onQuarantine || !isContractError(err)) throw err;
        const replacement = await onQuarantine(output, err);
        quarantined += 1;
        const value = await encodeValue(codec, replacement.topic, replacement.value, index);
        return { topic: replacement.topic, message: toKafkaMessage(replacement, value) };
      }
    }),
  );
  const byTopic = new Map<string, Message[]>();
  for (const { topic, message } of encoded) {
    const list = byTopic.get(topic);
    if (list) list.push(message);
    else byTopic.set(topic, [message]);
  }
  const sendBytes = sendLimit(await Promise.all([...byTopic.keys()].map(limitOf)));
  return {
    topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    quarantined,
    sendBytes,
    limits,
  };
}

/**
 * After the broker refused a chunk's produce for its size: each topic the chunk wrote to is read
 * again, and the first whose limit is now below the one the chunk applied gives a transient
 * `TOPIC_LIMIT_CHANGED` (the retry encodes under the new limit, quarantining what no longer fits).
 * Undefined when no limit went down: the refusal stays what it was, permanent.
 */
async function lowerLimit(
  refresh: (topic: string) => Promise<number | undefined>,
  used: ReadonlyMap<string, number>,
  refusal: unknown,
  commit: CommitPoint,
): Promise<PipelineError | undefined> {
  for (const [topic, applied] of used) {
    const limit = await refresh(topic);
    if (limit !== undefined && limit < applied) {
      return new PipelineError(
        'TOPIC_LIMIT_CHANGED',
        `Kafka refused a produce to ${topic} as too large: its record limit is now ${limit} bytes, down from ${applied}; the chunk is retried under it`,
        {
          cause: refusal,
          context: {
            topic,
            maxBytes: limit,
            previousMaxBytes: applied,
            inputTopic: commit.topic,
            partition: commit.partition,
          },
        },
      );
    }
  }
  return undefined;
}

function isContractError(err: unknown): err is PipelineError {
  return isPipelineError(err) && err.errorClass === 'contract';
}

/**
 * One chunk, start to finish: decode, handle, encode, deliver (produce, then commit — or both in
 * one transaction). Any throw means nothing of this chunk was committed.
 */
export async function processChunk(
  deps: ChunkDeps,
  messages: readonly KafkaMessage[],
  commit: CommitPoint,
  io: ChunkIo,
): Promise<ChunkResult> {
  const records = await decodeChunk(deps.codec, commit.topic, commit.partition, messages);
  const outputs = await deps.handler(records);
  const { topicMessages, quarantined, sendBytes, limits } = await encodeOutputs(
    deps.codec,
    outputs,
    deps.onQuarantine,
    deps.maxOutputBytes,
  );
  io.checkStillMember();
  const info: ChunkInfo = {
    topic: commit.topic,
    partition: commit.partition,
    records: records.length,
    outputs: outputs.length,
  };
  const beforeCommit = deps.beforeCommit;
  try {
    await deps.delivery.deliver(topicMessages, commit, {
      commitOffsets: io.commitOffsets,
      maxSendBytes: sendBytes,
      ...(beforeCommit ? { beforeCommit: async () => beforeCommit(info) } : {}),
    });
  } catch (err) {
    if (deps.refreshOutputLimit !== undefined && isTooLargeRefusal(err))
      throw (await lowerLimit(deps.refreshOutputLimit, limits, err, commit)) ?? err;
    throw err;
  }
  return {
    records: records.length,
    outputs: outputs.length,
    decodeErrors: records.filter((r) => r.decodeError !== undefined).length,
    quarantined,
  };
}
