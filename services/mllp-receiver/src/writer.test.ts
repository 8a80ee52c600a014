import { describe, expect, it } from 'vitest';
import type { OutgoingMessage, RecordProducer } from '@ehrflow/kafka';
import { createGroupWriter } from './writer.ts';

function fakeProducer() {
  const sends: { topic: string; count: number; release(): void; fail(e: unknown): void }[] = [];
  const producer: RecordProducer = {
    connect: () => Promise.resolve(),
    disconnect: () => Promise.resolve(),
    send: (topic, messages) =>
      new Promise<void>((resolve, reject) =>
        sends.push({ topic, count: messages.length, release: resolve, fail: reject }),
      ),
  };
  return { producer, sends };
}
const m = (n: number): OutgoingMessage[] =>
  Array.from({ length: n }, (_, i) => ({ key: String(i), value: {} }));
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('group writer', () => {
  it('sends at once when idle, gathers what arrives meanwhile into the next request, and caps a request', async () => {
    const { producer, sends } = fakeProducer();
    const writer = createGroupWriter({
      topic: 'raw',
      producers: [producer],
      maxPending: 100,
      maxSendBatch: 5,
    });
    const first = writer.write(m(1));
    const rest = [writer.write(m(2)), writer.write(m(2)), writer.write(m(3))];
    expect(sends.map((s) => s.count)).toEqual([1]);
    sends[0]?.release();
    await first;
    await tick();
    expect(sends.map((s) => s.count)).toEqual([1, 4]);
    sends[1]?.release();
    await tick();
    await tick();
    expect(sends.map((s) => s.count)).toEqual([1, 4, 3]);
    sends[2]?.release();
    await Promise.all(rest);
    await writer.idle();
  });

  it('with two producers, a second request goes out while the first is in flight', async () => {
    const a = fakeProducer();
    const b = fakeProducer();
    const writer = createGroupWriter({
      topic: 'raw',
      producers: [a.producer, b.producer],
      maxPending: 100,
      maxSendBatch: 10,
    });
    const first = writer.write(m(1));
    const second = writer.write(m(2));
    const third = writer.write(m(3));
    expect([a.sends.length + b.sends.length, writer.pending]).toEqual([2, 6]);
    for (const s of [...a.sends, ...b.sends]) s.release();
    await Promise.all([first, second]);
    await tick();
    for (const s of [...a.sends, ...b.sends]) s.release();
    await third;
    expect([...a.sends, ...b.sends].map((s) => s.count).sort()).toEqual([1, 2, 3]);
  });

  it('rejects every write of a failed request, and reports overload until room is made', async () => {
    const { producer, sends } = fakeProducer();
    const writer = createGroupWriter({
      topic: 'raw',
      producers: [producer],
      maxPending: 3,
      maxSendBatch: 10,
    });
    const a = writer.write(m(2));
    const b = writer.write(m(2));
    expect(writer.overloaded()).toBe(true);
    let room = false;
    void writer.whenRoom().then(() => (room = true));
    sends[0]?.fail(new Error('down'));
    await expect(a).rejects.toThrow('down');
    await tick();
    expect(room).toBe(true);
    sends[1]?.release();
    await b;
  });

  it('runs atomic writes one after another through the transactional producer', async () => {
    const plain = fakeProducer();
    const tx = fakeProducer();
    const writer = createGroupWriter({
      topic: 'raw',
      producers: [plain.producer],
      atomicProducer: tx.producer,
      maxPending: 100,
      maxSendBatch: 10,
    });
    const one = writer.writeAtomic(m(3));
    const two = writer.writeAtomic(m(2));
    await tick();
    expect(tx.sends.map((s) => s.count)).toEqual([3]);
    tx.sends[0]?.release();
    await one;
    await tick();
    expect(tx.sends.map((s) => s.count)).toEqual([3, 2]);
    tx.sends[1]?.release();
    await two;
    expect(plain.sends).toHaveLength(0);
  });
});
