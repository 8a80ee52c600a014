import { createRequire } from 'node:module';
import type * as KafkaJs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createProducer } from './producer.ts';
import { fakeClient, fakeCodec, fakeProducer, sentValues } from './testing/fakes.ts';

const kafkajs = createRequire(import.meta.url)('kafkajs') as typeof KafkaJs;

describe('createProducer', () => {
  it('encodes each value under <topic>-value and sends with acks=all', async () => {
    const producer = fakeProducer();
    const p = createProducer({ kafka: fakeClient(producer), codec: fakeCodec() });
    await p.connect();
    await p.send('ehr.raw', [
      { key: 'k1', value: { n: 1 }, headers: { jobId: 'j1' } },
      { key: 'k2', value: { n: 2 } },
    ]);
    const send = producer.calls[1];
    expect(send).toMatchObject({ op: 'send', acks: -1 });
    expect(sentValues(send)).toEqual(['ehr.raw-value|{"n":1}', 'ehr.raw-value|{"n":2}']);
    expect(send && 'topicMessages' in send ? send.topicMessages[0]?.messages[0] : undefined).toMatchObject({
      key: 'k1',
      headers: { jobId: 'j1' },
    });
  });

  it('refuses the whole call, naming the index, when one message breaks the schema', async () => {
    const producer = fakeProducer();
    const p = createProducer({ kafka: fakeClient(producer), codec: fakeCodec() });
    const err = await p
      .send('ehr.raw', [
        { key: 'a', value: {} },
        { key: 'b', value: { invalid: true } },
        { key: 'c', value: { invalid: true } },
      ])
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SCHEMA_MISMATCH', context: { topic: 'ehr.raw', index: 1 } });
    expect(producer.calls.filter((c) => c.op === 'send')).toEqual([]);
  });

  it('maps an unreachable broker to KAFKA_UNAVAILABLE on connect and send', async () => {
    const producer = fakeProducer();
    const down = () =>
      new kafkajs.KafkaJSNumberOfRetriesExceeded(new kafkajs.KafkaJSConnectionError('ECONNREFUSED'), {
        retryCount: 8,
        retryTime: 8000,
      });
    producer.failNext('connect', down());
    const p = createProducer({ kafka: fakeClient(producer), codec: fakeCodec() });
    await expect(p.connect()).rejects.toMatchObject({
      code: 'KAFKA_UNAVAILABLE',
      context: { operation: 'connect' },
    });
    producer.failNext('send', down());
    await expect(p.send('t', [{ key: 'k', value: {} }])).rejects.toMatchObject({
      code: 'KAFKA_UNAVAILABLE',
      context: { operation: 'send', topic: 't', messages: 1 },
    });
  });

  it('with a transactional id, commits each send as one transaction and aborts a failed one', async () => {
    const producer = fakeProducer();
    const p = createProducer({
      kafka: fakeClient(producer),
      codec: fakeCodec(),
      transactionalId: 'extractor-0',
    });
    await p.send('t', [{ key: 'k', value: { n: 1 } }]);
    expect(producer.calls.map((c) => c.op)).toEqual(['tx.begin', 'tx.send', 'tx.commit']);

    producer.calls.length = 0;
    producer.failNext('tx.send', new kafkajs.KafkaJSConnectionError('gone'));
    await expect(p.send('t', [{ key: 'k', value: { n: 2 } }])).rejects.toMatchObject({
      code: 'KAFKA_UNAVAILABLE',
    });
    expect(producer.calls.map((c) => c.op)).toEqual(['tx.begin', 'tx.send', 'tx.abort']);
  });

  it('replaces a producer whose sequence the broker lost, so the retried send goes through', async () => {
    const made: ReturnType<typeof fakeProducer>[] = [];
    const p = createProducer({
      kafka: fakeClient(() => {
        made.push(fakeProducer());
        return made[made.length - 1] as ReturnType<typeof fakeProducer>;
      }),
      codec: fakeCodec(),
    });
    await p.connect();
    const lost = new kafkajs.KafkaJSProtocolError(
      Object.assign(new Error('out of order'), {
        type: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
        code: 45,
        retriable: false,
      }),
    );
    made[0]?.failNext('send', lost);
    // Transient, so the caller retries (a job's batch, a stage's chunk) instead of failing.
    await expect(p.send('t', [{ key: 'k', value: { n: 1 } }])).rejects.toMatchObject({
      code: 'KAFKA_UNAVAILABLE',
      retryable: true,
    });
    await p.send('t', [{ key: 'k', value: { n: 1 } }]);
    expect(made).toHaveLength(2);
    expect(made[0]?.calls.map((c) => c.op)).toEqual(['connect', 'send', 'disconnect']);
    expect(made[1]?.calls.map((c) => c.op)).toEqual(['connect', 'send']);
  });

  it('starts from a fresh producer after a transaction that could not be aborted', async () => {
    const made: ReturnType<typeof fakeProducer>[] = [];
    const p = createProducer({
      kafka: fakeClient(() => {
        made.push(fakeProducer());
        return made[made.length - 1] as ReturnType<typeof fakeProducer>;
      }),
      codec: fakeCodec(),
      transactionalId: 'extractor-0',
    });
    made[0]?.failNext('tx.send', new kafkajs.KafkaJSConnectionError('gone'));
    made[0]?.failNext('tx.abort', new kafkajs.KafkaJSConnectionError('still gone'));
    await expect(p.send('t', [{ key: 'k', value: {} }])).rejects.toMatchObject({ code: 'KAFKA_UNAVAILABLE' });
    await p.send('t', [{ key: 'k', value: {} }]);
    expect(made).toHaveLength(2);
    expect(made[0]?.calls.map((c) => c.op)).toEqual(['tx.begin', 'tx.send', 'tx.abort', 'disconnect']);
    expect(made[1]?.calls.map((c) => c.op)).toEqual(['connect', 'tx.begin', 'tx.send', 'tx.commit']);
  });
});
