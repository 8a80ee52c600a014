import type { Admin } from 'kafkajs';
import { ConfigResourceTypes } from './client-exports.ts';
import type { KafkaLogger } from './logger.ts';
import { MAX_SEND_BYTES } from './send-limit.ts';

/**
 * Room left under a topic's `max.message.bytes` for what a record batch adds around one record
 * (batch header, record fields, headers' framing): a record may take at most the limit less this.
 */
export const RECORD_MARGIN_BYTES = 16 * 1024;

/**
 * What a topic whose limit cannot be read is taken to accept: 1 MiB, at or under the broker's
 * default `message.max.bytes` (Kafka's is 1 MiB and 12 bytes), what a topic without its own takes.
 */
export const BROKER_DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

/** The calls reading a topic's limit needs (a kafkajs `Admin` satisfies it). */
export type ConfigAdmin = Pick<Admin, 'describeConfigs'>;

/**
 * `max.message.bytes` of each of `topics` as the broker applies it (its own default included for a
 * topic without an override). A topic the broker does not describe is absent from the answer.
 */
export async function readTopicLimits(
  admin: ConfigAdmin,
  topics: readonly string[],
): Promise<Map<string, number>> {
  const limits = new Map<string, number>();
  if (topics.length === 0) return limits;
  const answer = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((name) => ({
      type: ConfigResourceTypes.TOPIC,
      name,
      configNames: ['max.message.bytes'],
    })),
  });
  for (const resource of answer.resources) {
    if (resource.errorCode !== 0) continue;
    const entry = resource.configEntries.find((e) => e.configName === 'max.message.bytes');
    const value = Number(entry?.configValue);
    if (Number.isInteger(value) && value > 0) limits.set(resource.resourceName, value);
  }
  return limits;
}

/**
 * The most bytes one record for a topic may take: the topic's limit less
 * {@link RECORD_MARGIN_BYTES} (an eighth of it for a topic of under 128 KiB), and never more than
 * `ceiling` (an operator's setting) when one is given. Without a known topic limit: `ceiling`,
 * else `fallback`, else the broker default's less the margin.
 */
export function recordLimit(
  topicLimit: number | undefined,
  ceiling: number | undefined,
  fallback: number = BROKER_DEFAULT_MAX_MESSAGE_BYTES - RECORD_MARGIN_BYTES,
): number {
  if (topicLimit === undefined) return ceiling ?? fallback;
  const fromTopic = topicLimit - Math.min(RECORD_MARGIN_BYTES, Math.floor(topicLimit / 8));
  return ceiling === undefined ? fromTopic : Math.min(ceiling, fromTopic);
}

/**
 * Bytes one produce call may carry when it writes to topics of these record limits: kafkajs puts
 * all of a call's records for one partition in one batch, which the broker measures against the
 * topic's `max.message.bytes` (see send-limit.ts).
 */
export function sendLimit(recordLimits: Iterable<number>): number {
  let max = MAX_SEND_BYTES;
  for (const limit of recordLimits) if (limit < max) max = limit;
  return max;
}

/**
 * Record limits of the topics a stage writes to, read from the broker once per topic and kept
 * until the broker refuses a produce as too large: then `refresh` reads the topic again (a topic
 * whose `max.message.bytes` an operator lowered). A topic that cannot be described (no
 * `DescribeConfigs` permission, a broker error) gets the fallback of {@link recordLimit} and one
 * warning; its next use tries again after a minute.
 */
export interface TopicLimits {
  /** The record limit of `topic`. */
  limitOf(topic: string): Promise<number>;
  /**
   * Reads `topic`'s limit from the broker again, now, and keeps it; returns undefined when the
   * broker does not describe it (the limit in use stays).
   */
  refresh(topic: string): Promise<number | undefined>;
}

export interface TopicLimitsOptions {
  readonly admin: () => Promise<ConfigAdmin>;
  /** The operator's ceiling (e.g. `VALIDATOR_MAX_OUTPUT_BYTES`), when set. */
  readonly ceiling?: number;
  readonly logger?: KafkaLogger;
  /** What the warnings call the ceiling's setting. */
  readonly ceilingName?: string;
  /**
   * The record limit of a topic whose own cannot be read and without a ceiling (default: the
   * broker default's less the margin); e.g. what a deployment's topic is documented to take.
   */
  readonly fallback?: number;
  readonly now?: () => number;
}

const RETRY_AFTER_FAILURE_MS = 60_000;

export function createTopicLimits(options: TopicLimitsOptions): TopicLimits {
  const known = new Map<string, number>();
  const pending = new Map<string, Promise<number>>();
  const failedAt = new Map<string, number>();
  const now = options.now ?? Date.now;
  const unknownLimit = (): number => recordLimit(undefined, options.ceiling, options.fallback);
  const read = async (topic: string): Promise<number> => (await readOnce(topic)).limit;
  /** One reading; `described` is false when the broker gave no limit or could not be asked. */
  const readOnce = async (topic: string): Promise<{ limit: number; described: boolean }> => {
    try {
      const limits = await readTopicLimits(await options.admin(), [topic]);
      const topicLimit = limits.get(topic);
      const limit = recordLimit(topicLimit, options.ceiling, options.fallback);
      if (topicLimit === undefined)
        options.logger?.warn(
          { topic, limit },
          "the broker did not describe the topic's max.message.bytes; using the configured or default record limit",
        );
      if (topicLimit !== undefined && options.ceiling !== undefined && options.ceiling > limit)
        options.logger?.warn(
          {
            topic,
            maxMessageBytes: topicLimit,
            ceiling: options.ceiling,
            setting: options.ceilingName,
            limit,
          },
          'the configured record limit is above what the topic takes; the topic limit less the margin applies',
        );
      known.set(topic, limit);
      failedAt.delete(topic);
      return { limit, described: topicLimit !== undefined };
    } catch (err) {
      const limit = unknownLimit();
      if (!failedAt.has(topic))
        options.logger?.warn(
          { topic, limit, err },
          "could not read the topic's max.message.bytes; using the configured or default record limit",
        );
      failedAt.set(topic, now());
      return { limit, described: false };
    } finally {
      pending.delete(topic);
    }
  };
  return {
    async limitOf(topic) {
      const limit = known.get(topic);
      if (limit !== undefined) return limit;
      const failed = failedAt.get(topic);
      if (failed !== undefined && now() - failed < RETRY_AFTER_FAILURE_MS) return unknownLimit();
      let reading = pending.get(topic);
      if (reading === undefined) {
        reading = read(topic);
        pending.set(topic, reading);
      }
      return reading;
    },
    async refresh(topic) {
      const before = known.get(topic);
      const { limit, described } = await readOnce(topic);
      if (described) return limit;
      // Not described this time: keep what was known rather than the fallback.
      if (before !== undefined) known.set(topic, before);
      return undefined;
    },
  };
}
