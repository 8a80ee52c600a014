/**
 * Small hand-written fakes of the kafkajs surface this package uses, for unit tests. Each records
 * the calls it receives in `calls` so tests can assert order (produce before commit).
 */
import type { Consumer, Kafka, Message, Producer, TopicMessages } from 'kafkajs';
import { PipelineError } from '@ehrflow/errors';
import type { KafkaClient } from '../client.ts';
import type { Codec } from '../codec.ts';
import { memoryLogger } from './kafka.ts';

export type Call =
  | { readonly op: 'connect' | 'disconnect' | 'tx.begin' | 'tx.commit' | 'tx.abort' }
  | {
      readonly op: 'send' | 'tx.send';
      readonly topicMessages: readonly TopicMessages[];
      readonly acks: number | undefined;
    }
  | { readonly op: 'tx.offsets'; readonly groupId: string; readonly offset: string }
  | { readonly op: 'commit'; readonly offset: string };

export interface FakeProducerControl {
  readonly calls: Call[];
  /** Makes the next call of `op` throw `err` (once). */
  failNext(op: Call['op'], err: Error): void;
}

export function fakeProducer(calls: Call[] = []): Producer & FakeProducerControl {
  const failures = new Map<Call['op'], Error>();
  const step = (call: Call) => {
    calls.push(call);
    const err = failures.get(call.op);
    if (err !== undefined) {
      failures.delete(call.op);
      return Promise.reject(err);
    }
    return Promise.resolve();
  };
  /** `send` and `sendBatch`, both recorded as `op`. */
  const senders = (op: 'send' | 'tx.send') => ({
    send: async ({ topic, messages, acks }: { topic: string; messages: Message[]; acks?: number }) => {
      await step({ op, topicMessages: [{ topic, messages }], acks });
      return [];
    },
    sendBatch: async ({ topicMessages, acks }: { topicMessages: TopicMessages[]; acks?: number }) => {
      await step({ op, topicMessages, acks });
      return [];
    },
  });
  let active = false;
  const fake = {
    calls,
    failNext: (op: Call['op'], err: Error) => failures.set(op, err),
    connect: () => step({ op: 'connect' }),
    disconnect: () => step({ op: 'disconnect' }),
    ...senders('send'),
    transaction: async () => {
      await step({ op: 'tx.begin' });
      active = true;
      const tx = {
        isActive: () => active,
        ...senders('tx.send'),
        sendOffsets: ({
          consumerGroupId,
          topics,
        }: {
          consumerGroupId: string;
          topics: { partitions: { offset: string }[] }[];
        }) =>
          step({
            op: 'tx.offsets',
            groupId: consumerGroupId,
            offset: topics[0]?.partitions[0]?.offset ?? '?',
          }),
        commit: async () => {
          active = false;
          await step({ op: 'tx.commit' });
        },
        abort: async () => {
          active = false;
          await step({ op: 'tx.abort' });
        },
      };
      return tx;
    },
  };
  return fake as unknown as Producer & FakeProducerControl;
}

/** A client whose kafkajs producer() hands out `producer` (or a new one from the factory each time). */
export function fakeClient(producer: Producer | (() => Producer)): KafkaClient {
  const kafkajs = {
    producer: typeof producer === 'function' ? producer : () => producer,
  } as unknown as Kafka;
  return { kafkajs, logger: memoryLogger(), clientId: 'test', mode: 'test' };
}

/** A codec that writes `subject|json` and refuses values with `invalid: true`. */
export function fakeCodec(): Codec {
  return {
    encode: (subject, value) =>
      (value as { invalid?: boolean }).invalid
        ? Promise.reject(new PipelineError('SCHEMA_MISMATCH', 'test schema refuses it'))
        : Promise.resolve(Buffer.from(`${subject}|${JSON.stringify(value)}`)),
    decode: (buf) => {
      const text = buf.toString('utf8');
      if (!text.startsWith('{')) return Promise.reject(new PipelineError('PARSE_ERROR', 'not JSON'));
      return Promise.resolve({ value: JSON.parse(text) as unknown, schemaId: 1 });
    },
  };
}

/** The string values of every message in a list of sent topic messages. */
export function sentValues(call: Call | undefined): string[] {
  if (!call || !('topicMessages' in call)) return [];
  return call.topicMessages.flatMap((t) => t.messages.map((m) => String(m.value)));
}

type Listener = (event: { payload: Record<string, unknown> }) => void;

export interface FakeBatchMessage {
  readonly offset: string;
  readonly value: string | null;
  readonly key?: string;
}

/** Kafka-side facts the fake consumer records. */
export interface FakeConsumerLog {
  readonly commits: { topic: string; partition: number; offset: string; via: 'batch' | 'consumer' }[];
  readonly resolved: string[];
  readonly pauses: number;
  readonly resumes: number;
  readonly seeks: { topic: string; partition: number; offset: string }[];
}

/**
 * A consumer whose `run()` keeps the `eachBatch` callback so a test can feed it batches, and whose
 * `stop()` waits for the batch in flight, like kafkajs.
 */
export function fakeConsumer() {
  const listeners = new Map<string, Listener[]>();
  const log = {
    commits: [] as FakeConsumerLog['commits'],
    resolved: [] as string[],
    pauses: 0,
    resumes: 0,
    seeks: [] as FakeConsumerLog['seeks'],
  };
  let eachBatch: ((payload: unknown) => Promise<void>) | undefined;
  let running = false;
  let inFlight: Promise<void> = Promise.resolve();
  const events = {
    GROUP_JOIN: 'group_join',
    CRASH: 'crash',
    DISCONNECT: 'disconnect',
    END_BATCH_PROCESS: 'end_batch_process',
  };
  const emit = (name: string, payload: Record<string, unknown>) => {
    for (const l of listeners.get(name) ?? []) l({ payload });
  };
  const consumer = {
    events,
    on: (name: string, listener: Listener) => {
      listeners.set(name, [...(listeners.get(name) ?? []), listener]);
      return () => undefined;
    },
    connect: () => Promise.resolve(),
    subscribe: () => Promise.resolve(),
    run: (config: { eachBatch: (payload: unknown) => Promise<void> }) => {
      eachBatch = config.eachBatch;
      running = true;
      return Promise.resolve();
    },
    stop: async () => {
      running = false;
      await inFlight.catch(() => undefined);
    },
    disconnect: async () => {
      running = false;
      await inFlight.catch(() => undefined);
      emit(events.DISCONNECT, {});
    },
    commitOffsets: (offsets: { topic: string; partition: number; offset: string }[]) => {
      for (const o of offsets) log.commits.push({ ...o, via: 'consumer' });
      return Promise.resolve();
    },
    seek: (position: { topic: string; partition: number; offset: string }) => {
      log.seeks.push(position);
    },
  };

  /** Joins the group with the given assignment. */
  const join = (assignment: Record<string, number[]>) =>
    emit(events.GROUP_JOIN, { memberAssignment: assignment });

  /** Hands one fetched batch to the runner; `lastOffset` defaults to the last message (set it past for trailing markers). */
  const feed = (
    topic: string,
    partition: number,
    messages: readonly FakeBatchMessage[],
    options: { highWatermark?: string; lastOffset?: string; rebalanceOnHeartbeat?: unknown } = {},
  ): Promise<void> => {
    if (!eachBatch) throw new Error('run() was not called');
    const last = options.lastOffset ?? messages[messages.length - 1]?.offset ?? '0';
    const batch = {
      topic,
      partition,
      highWatermark: options.highWatermark ?? (BigInt(last) + 1n).toString(),
      messages: messages.map((m) => ({
        offset: m.offset,
        key: m.key === undefined ? null : Buffer.from(m.key),
        value: m.value === null ? null : Buffer.from(m.value),
        timestamp: '1700000000000',
        headers: {},
        attributes: 0,
        size: 0,
      })),
      firstOffset: () => messages[0]?.offset ?? null,
      lastOffset: () => last,
    };
    const payload = {
      batch,
      resolveOffset: (offset: string) => log.resolved.push(offset),
      heartbeat: () => Promise.resolve(),
      pause: () => {
        log.pauses += 1;
        return () => {
          log.resumes += 1;
        };
      },
      commitOffsetsIfNecessary: (offsets: {
        topics: { topic: string; partitions: { partition: number; offset: string }[] }[];
      }) => {
        for (const t of offsets.topics) {
          for (const p of t.partitions)
            log.commits.push({ topic: t.topic, partition: p.partition, offset: p.offset, via: 'batch' });
        }
        return Promise.resolve();
      },
      uncommittedOffsets: () => ({ topics: [] }),
      isRunning: () => running,
      isStale: () => false,
    };
    const run = eachBatch(payload);
    inFlight = run;
    return run;
  };

  return { consumer: consumer as unknown as Consumer, log, join, feed, emit, events };
}
