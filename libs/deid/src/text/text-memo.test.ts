import { describe, expect, it } from 'vitest';
import { createTextMemo } from './text-memo.ts';

describe('createTextMemo', () => {
  const counting = (): { compute: (t: string) => string; calls: () => number } => {
    let n = 0;
    return {
      compute: (t) => {
        n += 1;
        return t.toUpperCase();
      },
      calls: () => n,
    };
  };

  it('computes a text once while it is kept', () => {
    const memo = createTextMemo<string>(4, 100);
    const c = counting();
    expect(memo.get('ab', c.compute)).toBe('AB');
    expect(memo.get('ab', c.compute)).toBe('AB');
    expect(c.calls()).toBe(1);
  });

  it('keeps two generations, then drops the older one whole', () => {
    const memo = createTextMemo<string>(2, 100);
    const c = counting();
    for (const t of ['a', 'b', 'c', 'd']) memo.get(t, c.compute); // young {c, d}, old {a, b}
    memo.get('a', c.compute); // from the old generation: no call
    expect(c.calls()).toBe(4);
    for (const t of ['e', 'f']) memo.get(t, c.compute); // a, b and c, d age out in turn
    memo.get('b', c.compute);
    expect(c.calls()).toBe(7);
  });

  it('does not keep texts longer than its limit', () => {
    const memo = createTextMemo<string>(4, 3);
    const c = counting();
    memo.get('abcd', c.compute);
    memo.get('abcd', c.compute);
    expect(c.calls()).toBe(2);
  });
});
