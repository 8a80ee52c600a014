import { describe, expect, it } from 'vitest';
import { fakeFetch, ok, secretOptions } from './testing/token-fakes.ts';
import type { TokenFetch, TokenResponse } from './token-endpoint.ts';
import { createTokenProvider, type TokenProviderOptions } from './token-provider.ts';

function providerOptions(
  fetch: TokenFetch,
  overrides: Partial<TokenProviderOptions> = {},
): TokenProviderOptions {
  return { ...secretOptions(fetch), ...overrides };
}

describe('createTokenProvider', () => {
  it('reuses the token until it is within the skew of expiry, then refreshes', async () => {
    let now = 1_000_000;
    const { fetch, requests } = fakeFetch((_req, n) => ok(`tok-${n}`, 300));
    const provider = createTokenProvider(providerOptions(fetch, { now: () => now, skewMs: 30_000 }));
    expect(await provider.getToken()).toBe('tok-1');
    now += 269_000;
    expect(await provider.getToken()).toBe('tok-1');
    now += 2_000; // 271 s: inside the 30 s skew
    expect(await provider.getToken()).toBe('tok-2');
    expect(requests).toHaveLength(2);
    expect(provider.refreshes()).toBe(2);
  });

  it('shrinks the skew to a quarter of the lifetime of short tokens instead of refreshing on every call', async () => {
    let now = 0;
    const { fetch } = fakeFetch((_req, n) => ok(`tok-${n}`, 20));
    const provider = createTokenProvider(providerOptions(fetch, { now: () => now, skewMs: 30_000 }));
    await provider.getToken();
    now += 14_000; // 6 s left of 20: outside the 5 s skew
    expect(await provider.getToken()).toBe('tok-1');
    now += 2_000;
    expect(await provider.getToken()).toBe('tok-2');
  });

  it('uses a 5-second token for three quarters of its life (at most 16 token requests a minute)', async () => {
    let now = 0;
    const { fetch, requests } = fakeFetch((_req, n) => ok(`tok-${n}`, 5));
    const provider = createTokenProvider(providerOptions(fetch, { now: () => now, skewMs: 30_000 }));
    for (; now < 60_000; now += 50) await provider.getToken();
    expect(requests.length).toBeLessThanOrEqual(16);
    expect(requests.length).toBeGreaterThanOrEqual(15);
  });

  it('shares one in-flight refresh between 20 concurrent callers', async () => {
    let answer: (r: TokenResponse) => void = () => undefined;
    const { fetch, requests } = fakeFetch(
      () =>
        new Promise<TokenResponse>((resolve) => {
          answer = resolve;
        }),
    );
    const provider = createTokenProvider(providerOptions(fetch));
    const callers = Array.from({ length: 20 }, () => provider.getToken());
    await Promise.resolve();
    answer(ok('shared'));
    expect(new Set(await Promise.all(callers))).toEqual(new Set(['shared']));
    expect(requests).toHaveLength(1);
  });

  it('refreshes after invalidate(token), but ignores a stale token', async () => {
    const { fetch } = fakeFetch((_req, n) => ok(`tok-${n}`));
    const provider = createTokenProvider(providerOptions(fetch));
    expect(await provider.getToken()).toBe('tok-1');
    provider.invalidate('some-older-token');
    expect(await provider.getToken()).toBe('tok-1');
    provider.invalidate('tok-1');
    expect(await provider.getToken()).toBe('tok-2');
  });

  it('maps a network failure to HTTP_TRANSIENT and tries again on the next call', async () => {
    const { fetch, requests } = fakeFetch((_req, n) => {
      if (n === 1) throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
      return ok('after-reset');
    });
    const provider = createTokenProvider(providerOptions(fetch));
    await expect(provider.getToken()).rejects.toMatchObject({ code: 'HTTP_TRANSIENT' });
    expect(await provider.getToken()).toBe('after-reset');
    expect(requests).toHaveLength(2);
  });

  it('refuses a source id that could break out of its Redis key', () => {
    const { fetch } = fakeFetch(() => ok('x'));
    expect(() => createTokenProvider(providerOptions(fetch, { sourceId: 'a:b*' }))).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });
});
