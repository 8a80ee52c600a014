import { PipelineError, isRetryable } from '@ehrflow/errors';
import type { KafkaMessage, TopicMessages } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { processChunk, type ChunkDeps } from './chunk-processor.ts';
import type { Delivery, DeliverHooks } from './delivery.ts';
import { toKafkaError } from './kafka-errors.ts';
import type { InputRecord, Output } from './records.ts';
import { fakeCodec } from './testing/fakes.ts';

/** What kafkajs throws when the broker refuses a produce for its size (a protocol error, wrapped). */
function brokerRefusal(type: 'MESSAGE_TOO_LARGE' | 'RECORD_LIST_TOO_LARGE'): Error {
  const protocol = Object.assign(
    new Error('The request included a message larger than the max message size the server will accept'),
    {
      name: 'KafkaJSProtocolError',
      type,
      retriable: false,
    },
  );
  return Object.assign(new Error(protocol.message), { name: 'KafkaJSNonRetriableError', cause: protocol });
}

const messages = (count: number): KafkaMessage[] =>
  Array.from({ length: count }, (_, i) => ({
    offset: String(i),
    key: Buffer.from(`k${i}`),
    value: Buffer.from(JSON.stringify({ id: `r${i}`, pad: i === 1 ? 3_000 : 100 })),
    headers: {},
    timestamp: '0',
    attributes: 0,
    size: 0,
  })) as unknown as KafkaMessage[];

const handler = (batch: readonly InputRecord[]): Promise<Output[]> =>
  Promise.resolve(
    batch.map((r) => {
      const { id, pad } = r.value as { id: string; pad: number };
      return { topic: 'out', key: id, value: { id, pad: 'x'.repeat(pad) } };
    }),
  );

/** A delivery that refuses (as the broker would) any call with a record above `brokerLimit`. */
function sizedDelivery(brokerLimit: () => number, refusal: () => Error, raw: boolean) {
  const delivered: { topics: readonly TopicMessages[]; hooks: DeliverHooks }[] = [];
  const delivery: Delivery = {
    mode: 'at-least-once',
    connect: () => Promise.resolve(),
    disconnect: () => Promise.resolve(),
    deliver(topics, _commit, hooks) {
      const largest = Math.max(...topics.flatMap((t) => t.messages.map((m) => String(m.value).length)));
      if (largest > brokerLimit()) {
        const err = refusal();
        return Promise.reject(raw ? err : (toKafkaError(err, 'send') as Error));
      }
      delivered.push({ topics, hooks });
      return Promise.resolve();
    },
  };
  return { delivery, delivered };
}

const commit = { topic: 'in', partition: 0, offset: '3' };
const io = { commitOffsets: () => Promise.resolve(), checkStillMember: () => undefined };

/** Stage deps whose limits start at `limits` and are read again through `readAgain`. */
function deps(
  delivery: Delivery,
  limits: Map<string, number>,
  readAgain: (topic: string) => number | undefined,
  asked: string[],
): ChunkDeps {
  return {
    codec: fakeCodec(),
    handler,
    delivery,
    maxOutputBytes: (topic) => limits.get(topic) ?? 1_000_000,
    refreshOutputLimit: (topic) => {
      asked.push(topic);
      const limit = readAgain(topic);
      if (limit !== undefined) limits.set(topic, limit);
      return Promise.resolve(limit);
    },
    onQuarantine: (output, error) => ({ topic: 'quarantine', key: output.key, value: { code: error.code } }),
  };
}

describe('a produce the broker refuses for its size', () => {
  it.each([
    ['MESSAGE_TOO_LARGE', true],
    ['RECORD_LIST_TOO_LARGE', false],
  ] as const)(
    'after %s (raw from kafkajs: %s), reads the topic again and fails the chunk transiently when its limit went down; the retry quarantines what no longer fits',
    async (type, raw) => {
      let brokerLimit = 1_000_000;
      const { delivery, delivered } = sizedDelivery(
        () => brokerLimit,
        () => brokerRefusal(type),
        raw,
      );
      const limits = new Map([['out', 1_000_000]]);
      const asked: string[] = [];
      const chunk = deps(delivery, limits, () => brokerLimit, asked);

      await processChunk(chunk, messages(3), commit, io);
      expect(delivered).toHaveLength(1);

      // An operator lowers the topic's limit: the broker refuses what the stage still thinks fits.
      brokerLimit = 2_000;
      const failure = processChunk(chunk, messages(3), commit, io);
      await expect(failure).rejects.toMatchObject({
        code: 'TOPIC_LIMIT_CHANGED',
        context: { topic: 'out', maxBytes: 2_000, previousMaxBytes: 1_000_000 },
      });
      const error = (await failure.catch((e: unknown) => e)) as PipelineError;
      expect(isRetryable(error)).toBe(true);
      expect(error.message).not.toContain('xxx');
      expect(asked).toContain('out');

      // The retry takes the limit read again: the 3 KB output goes to quarantine, the rest out.
      const result = await processChunk(chunk, messages(3), commit, io);
      expect(result).toMatchObject({ records: 3, quarantined: 1 });
      const last = delivered.at(-1);
      expect(last?.topics.map((t) => [t.topic, t.messages.length])).toEqual([
        ['out', 2],
        ['quarantine', 1],
      ]);
      expect(last?.hooks.maxSendBytes).toBeLessThanOrEqual(2_000);
    },
  );

  it('keeps the refusal (permanent) when the topic, read again, takes what the chunk was cut for', async () => {
    const { delivery } = sizedDelivery(
      () => 2_000,
      () => brokerRefusal('MESSAGE_TOO_LARGE'),
      false,
    );
    const asked: string[] = [];
    const unchanged = deps(delivery, new Map([['out', 1_000_000]]), () => 1_000_000, asked);
    const failure = processChunk(unchanged, messages(3), commit, io);
    await expect(failure).rejects.toMatchObject({ code: 'KAFKA_REJECTED' });
    expect(isRetryable(await failure.catch((e: unknown) => e))).toBe(false);
    expect(asked).toEqual(['out']);

    // Nor when the broker does not describe the topic this time.
    const undescribed = deps(delivery, new Map([['out', 1_000_000]]), () => undefined, []);
    await expect(processChunk(undescribed, messages(3), commit, io)).rejects.toMatchObject({
      code: 'KAFKA_REJECTED',
    });
  });

  it('does not read limits again after any other failure', async () => {
    const asked: string[] = [];
    const delivery: Delivery = {
      mode: 'at-least-once',
      connect: () => Promise.resolve(),
      disconnect: () => Promise.resolve(),
      deliver: () => Promise.reject(new PipelineError('KAFKA_UNAVAILABLE', 'no broker')),
    };
    const chunk = deps(delivery, new Map([['out', 1_000_000]]), () => 10, asked);
    await expect(processChunk(chunk, messages(3), commit, io)).rejects.toMatchObject({
      code: 'KAFKA_UNAVAILABLE',
    });
    expect(asked).toEqual([]);
  });
});
