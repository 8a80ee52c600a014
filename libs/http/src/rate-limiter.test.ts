import { describe, expect, it } from 'vitest';
import { resolveOptions } from './rate-limiter.ts';

describe('rate limiter options', () => {
  it('derives the budget from the published limit and the default 60% headroom', () => {
    const r = resolveOptions({ sourceId: 'epic', publishedLimitPerMinute: 600 });
    expect(r.budget).toBe(360);
    expect(r.burst).toBe(6); // one second of budget
    expect(r.reserve).toBe(0.5);
    expect(r.floor).toBe(18); // 5% of the budget
    expect(r.increase).toBeCloseTo(7.2);
  });

  it('keeps at least two tokens of burst so a backfill reserve can exist', () => {
    expect(resolveOptions({ sourceId: 'x', publishedLimitPerMinute: 10 }).burst).toBe(2);
  });

  it('lists every invalid setting by name, without values', () => {
    let caught: unknown;
    try {
      resolveOptions({
        sourceId: 'x',
        publishedLimitPerMinute: 0,
        headroom: 1.5,
        backfillReserve: 1,
        idleTtlMs: 5,
      });
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({
      code: 'CONFIG_INVALID',
      context: { invalid: 'publishedLimitPerMinute,headroom,backfillReserve,idleTtlMs' },
    });
  });

  it('refuses a source id that could break out of its Redis key', () => {
    expect(() => resolveOptions({ sourceId: 'a b', publishedLimitPerMinute: 60 })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });
});
