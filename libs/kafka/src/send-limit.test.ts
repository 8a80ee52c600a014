import { describe, expect, it } from 'vitest';
import { messageBytes, splitMessages, splitTopicMessages } from './send-limit.ts';

const msg = (id: number, bytes: number) => ({
  key: `k${id}`,
  value: Buffer.alloc(bytes, 1),
  headers: { 'ehrflow-source-record': 'r' },
});

describe('send limit', () => {
  it('counts key, value, headers and the record overhead', () => {
    expect(messageBytes(msg(1, 100))).toBe(32 + 2 + 100 + 'ehrflow-source-record'.length + 1);
  });

  it('splits a fan-out (2,500 records of ~1.5 KB) into calls under the limit, in order, losing none', () => {
    const messages = Array.from({ length: 2_500 }, (_, i) => msg(i, 1_500));
    const runs = splitMessages(messages, 900 * 1024);
    expect(runs.length).toBeGreaterThan(3);
    for (const run of runs)
      expect(run.reduce((n, m) => n + messageBytes(m), 0)).toBeLessThanOrEqual(900 * 1024);
    expect(runs.flat()).toEqual(messages);
  });

  it('sends a record above the limit alone, and a small call whole', () => {
    expect(splitMessages([msg(1, 10), msg(2, 5_000), msg(3, 10)], 1_000).map((r) => r.length)).toEqual([
      1, 1, 1,
    ]);
    expect(splitMessages([msg(1, 10), msg(2, 10)], 1_000)).toHaveLength(1);
  });

  it('keeps the topic of every record and the order across topics', () => {
    const runs = splitTopicMessages(
      [
        { topic: 'a', messages: [msg(1, 400), msg(2, 400)] },
        { topic: 'b', messages: [msg(3, 400)] },
      ],
      1_000,
    );
    expect(runs.map((r) => r.map((t) => `${t.topic}:${t.messages.map((m) => m.key).join('+')}`))).toEqual([
      ['a:k1+k2'],
      ['b:k3'],
    ]);
  });
});
