import { createSecretKey, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDekCache } from './dek-cache.ts';

const key = () => createSecretKey(randomBytes(32));
const wrapped = (n: number) => Buffer.from(`wrapped-${n}`);

describe('DEK cache', () => {
  it('returns a key only for the same wrapped bytes under the same KEK object', () => {
    const cache = createDekCache(4);
    const kek = key();
    const dek = key();
    cache.set(kek, wrapped(1), dek);
    expect(cache.get(kek, Buffer.from('wrapped-1'))).toBe(dek);
    expect(cache.get(kek, wrapped(2))).toBeUndefined();
    // Same kid, other key bytes, or simply another ring's KeyObject: never a hit.
    expect(cache.get(key(), wrapped(1))).toBeUndefined();
    expect(cache.stats()).toEqual({ size: 1, capacity: 4, hits: 1, misses: 2 });
  });

  it('stays within capacity and evicts the least recently used entry', () => {
    const cache = createDekCache(3);
    const kek = key();
    const deks = [key(), key(), key(), key(), key()];
    for (const n of [0, 1, 2]) cache.set(kek, wrapped(n), deks[n] ?? key());
    expect(cache.get(kek, wrapped(0))).toBe(deks[0]); // 0 is now the most recent
    cache.set(kek, wrapped(3), deks[3] ?? key()); // evicts 1
    expect(cache.get(kek, wrapped(1))).toBeUndefined();
    expect(cache.get(kek, wrapped(0))).toBe(deks[0]);
    expect(cache.get(kek, wrapped(3))).toBe(deks[3]);
    for (let n = 10; n < 100; n++) cache.set(kek, wrapped(n), key());
    expect(cache.stats().size).toBe(3);
  });

  it('rejects a capacity that is not a positive integer', () => {
    expect(() => createDekCache(0)).toThrow(RangeError);
    expect(() => createDekCache(1.5)).toThrow(RangeError);
  });
});
