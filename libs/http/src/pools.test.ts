import { describe, expect, it } from 'vitest';
import { createPoolCache } from './pools.ts';

describe('createPoolCache', () => {
  it('reuses one pool per origin and closes the least recently used beyond maxOrigins', async () => {
    const cache = createPoolCache({ maxOrigins: 2 });
    const a = cache.get('http://127.0.0.1:1');
    const b = cache.get('http://127.0.0.1:2');
    expect(cache.get('http://127.0.0.1:1')).toBe(a); // a is now the most recently used
    cache.get('http://127.0.0.1:3');
    expect(b.closed).toBe(true);
    expect(a.closed).toBe(false);
    await cache.close();
    expect(a.closed).toBe(true);
  });
});
