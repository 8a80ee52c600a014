import { createRequire } from 'node:module';
import type * as KafkaJs from 'kafkajs';
import type { Producer, TopicMessages } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createAtLeastOnceDelivery, createTransactionalDelivery, type CommitPoint } from './delivery.ts';
import { memoryLogger } from './testing/kafka.ts';
import { fakeClient, fakeProducer, type Call } from './testing/fakes.ts';

const kafkajs = createRequire(import.meta.url)('kafkajs') as typeof KafkaJs;
const messages: TopicMessages[] = [{ topic: 'out', messages: [{ key: 'k', value: Buffer.from('v') }] }];
const point: CommitPoint = { topic: 'in', partition: 0, offset: '10' };
const down = () => new kafkajs.KafkaJSConnectionError('broker gone');

function hooks(calls: Call[], beforeCommit?: () => Promise<void>) {
  return {
    commitOffsets: (offsets: { partitions: { offset: string }[] }[]) => {
      calls.push({ op: 'commit', offset: offsets[0]?.partitions[0]?.offset ?? '?' });
      return Promise.resolve();
    },
    ...(beforeCommit ? { beforeCommit } : {}),
  };
}

describe('at-least-once delivery', () => {
  it('produces with acks=all, then commits the offset', async () => {
    const producer = fakeProducer();
    await createAtLeastOnceDelivery(() => producer).deliver(messages, point, hooks(producer.calls));
    expect(producer.calls).toEqual([
      { op: 'send', topicMessages: messages, acks: -1 },
      { op: 'commit', offset: '10' },
    ]);
  });

  it('never commits when the produce fails or the pre-commit hook throws', async () => {
    const producer = fakeProducer();
    const delivery = createAtLeastOnceDelivery(() => producer);
    producer.failNext('send', down());
    await expect(delivery.deliver(messages, point, hooks(producer.calls))).rejects.toThrow('broker gone');
    await expect(
      delivery.deliver(
        messages,
        point,
        hooks(producer.calls, () => Promise.reject(new Error('lease lost'))),
      ),
    ).rejects.toThrow('lease lost');
    expect(producer.calls.map((c) => c.op)).toEqual(['send', 'send']);
  });

  it('replaces a producer whose sequence the broker lost before the chunk goes again', async () => {
    const made: ReturnType<typeof fakeProducer>[] = [];
    const calls: Call[] = [];
    const delivery = createAtLeastOnceDelivery(() => {
      made.push(fakeProducer(calls));
      return made[made.length - 1] as ReturnType<typeof fakeProducer>;
    });
    await delivery.connect();
    made[0]?.failNext(
      'send',
      new kafkajs.KafkaJSProtocolError(
        Object.assign(new Error('out of order'), {
          type: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
          code: 45,
          retriable: false,
        }),
      ),
    );
    await expect(delivery.deliver(messages, point, hooks(calls))).rejects.toThrow('out of order');
    await delivery.deliver(messages, point, hooks(calls));
    expect(made).toHaveLength(2);
    // Nothing committed for the failed attempt; the new producer connects, sends, then commits.
    expect(calls.map((c) => c.op)).toEqual(['connect', 'send', 'disconnect', 'connect', 'send', 'commit']);
  });
});

describe('transactional delivery', () => {
  function setup(committed: () => string | null = () => null) {
    const calls: Call[] = [];
    const producers: (Producer & { calls: Call[] })[] = [];
    const delivery = createTransactionalDelivery({
      kafka: fakeClient(fakeProducer(calls)),
      transactionalId: 'validator-0',
      groupId: 'validator',
      logger: memoryLogger(),
      committedOffset: () => Promise.resolve(committed()),
      newProducer: () => {
        const p = fakeProducer(calls);
        producers.push(p);
        return p;
      },
    });
    return {
      calls,
      producers,
      delivery,
      last: () => producers[producers.length - 1] as ReturnType<typeof fakeProducer>,
    };
  }

  it('sends outputs and offsets in one transaction', async () => {
    const { calls, delivery } = setup();
    await delivery.deliver(messages, point, hooks(calls));
    expect(calls).toEqual([
      { op: 'tx.begin' },
      { op: 'tx.send', topicMessages: messages, acks: -1 },
      { op: 'tx.offsets', groupId: 'validator', offset: '10' },
      { op: 'tx.commit' },
    ]);
  });

  it('aborts when anything fails before the commit, and never commits offsets through the consumer', async () => {
    const { calls, delivery } = setup();
    await expect(
      delivery.deliver(
        messages,
        point,
        hooks(calls, () => Promise.reject(new Error('injected'))),
      ),
    ).rejects.toThrow('injected');
    expect(calls.map((c) => c.op)).toEqual(['tx.begin', 'tx.send', 'tx.abort']);
  });

  it('re-initialises the producer when an abort fails', async () => {
    const { calls, delivery, producers, last } = setup();
    last().failNext('tx.send', down());
    last().failNext('tx.abort', down());
    await expect(delivery.deliver(messages, point, hooks(calls))).rejects.toThrow('broker gone');
    await delivery.deliver(messages, point, hooks(calls));
    expect(producers).toHaveLength(2);
    expect(calls.map((c) => c.op).slice(3)).toEqual([
      'disconnect',
      'connect',
      'tx.begin',
      'tx.send',
      'tx.offsets',
      'tx.commit',
    ]);
  });

  it('settles an in-doubt commit that did land by skipping the retry', async () => {
    let committed: string | null = null;
    const { calls, delivery, last } = setup(() => committed);
    last().failNext('tx.commit', new kafkajs.KafkaJSRequestTimeoutError('EndTxn timed out'));
    await expect(delivery.deliver(messages, point, hooks(calls))).rejects.toThrow('EndTxn timed out');
    committed = '10';
    calls.length = 0;
    await delivery.deliver(messages, point, hooks(calls));
    // Producer replaced (the broker finishes the old transaction), then nothing sent again.
    expect(calls.map((c) => c.op)).toEqual(['disconnect', 'connect']);
  });

  it('settles an in-doubt commit that did not land by delivering again', async () => {
    const { calls, delivery, last } = setup(() => '4');
    last().failNext('tx.commit', new kafkajs.KafkaJSRequestTimeoutError('EndTxn timed out'));
    await expect(delivery.deliver(messages, point, hooks(calls))).rejects.toThrow('EndTxn timed out');
    calls.length = 0;
    await delivery.deliver(messages, point, hooks(calls));
    expect(calls.map((c) => c.op)).toEqual([
      'disconnect',
      'connect',
      'tx.begin',
      'tx.send',
      'tx.offsets',
      'tx.commit',
    ]);
  });
});
