import { describe, expect, it } from 'vitest';
import { resolveOptions } from './rate-limiter.ts';

describe('rate limiter options', () => {
  it('derives the budget from the published limit and the default 60% headroom', () => {
    const r = resolveOptions({ sourceId: 'epic', publishedLimitPerMinute: 600 });
    expect(r.budget).toBe(360);
    expect(r.burst).toBe(6); // one second of budget
    expect(r.reserve).toBe(0.5);
    // The floor is low enough for a server that grants far less than it publishes.
    expect(r.floor).toBe(1);
    expect(r.coolDownMs).toBeUndefined(); // derived from coolDownRequests at the cut rate
    expect(r.coolDownRequests).toBe(4);
    expect([r.recoveryStep, r.probeStep]).toEqual([0.05, 0.005]);
    expect(r.maxPauseMs).toBe(300_000);
  });

  it('keeps the floor at the budget when the budget is below one request a minute', () => {
    expect(resolveOptions({ sourceId: 'x', publishedLimitPerMinute: 1, headroom: 0.5 }).floor).toBe(0.5);
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
        probeStep: 0,
        idleTtlMs: 5,
      });
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({
      code: 'CONFIG_INVALID',
      context: { invalid: 'publishedLimitPerMinute,headroom,backfillReserve,probeStep,idleTtlMs' },
    });
  });

  it('refuses a source id that could break out of its Redis key', () => {
    expect(() => resolveOptions({ sourceId: 'a b', publishedLimitPerMinute: 60 })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });
});
