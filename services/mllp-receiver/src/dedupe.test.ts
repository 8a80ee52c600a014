import { describe, expect, it } from 'vitest';
import { DEDUPE_PREFIX, createRedisDedupe, type DedupeRedis } from './dedupe.ts';

function fakeRedis(fail = false): DedupeRedis & { store: Map<string, number> } {
  const store = new Map<string, number>();
  return {
    store,
    mget: (...keys) =>
      fail
        ? Promise.reject(new Error('down'))
        : Promise.resolve(keys.map((k) => (store.has(k) ? '1' : null))),
    set: (key: string, _v: string, _px: 'PX', ms: number) => {
      if (fail) return Promise.reject(new Error('down'));
      store.set(key, ms);
      return Promise.resolve('OK');
    },
  };
}

describe('Redis dedupe window', () => {
  it('remembers digests under the prefix with the window as expiry', async () => {
    const redis = fakeRedis();
    const window = createRedisDedupe(redis, 60_000);
    expect(await window.seen(['a', 'b'])).toEqual([false, false]);
    await window.remember(['a']);
    expect(await window.seen(['a', 'b'])).toEqual([true, false]);
    expect(redis.store.get(`${DEDUPE_PREFIX}a`)).toBe(60_000);
  });

  it('an unreachable Redis is REDIS_UNAVAILABLE (transient: the sender is told to resend)', async () => {
    await expect(createRedisDedupe(fakeRedis(true), 1).seen(['a'])).rejects.toMatchObject({
      code: 'REDIS_UNAVAILABLE',
      retryable: true,
    });
  });
});
