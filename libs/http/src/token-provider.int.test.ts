import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@ehrflow/testing';
import type { HttpLogger } from './logger.ts';
import type { TokenFetch, TokenResponse } from './token-endpoint.ts';
import { createTokenProvider, type TokenCipher, type TokenProviderOptions } from './token-provider.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** AES-256-GCM with a key shared by the "replicas" of a test (the product passes @ehrflow/phi's). */
function testCipher(): TokenCipher {
  const key = randomBytes(32);
  return {
    encrypt(plain) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
      return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64');
    },
    decrypt(sealed) {
      const raw = Buffer.from(sealed, 'base64');
      const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      d.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
    },
  };
}

/** A slow fake token endpoint that tracks how many requests overlap. */
function slowEndpoint(delayMs: number): { fetch: TokenFetch; calls: () => number; peak: () => number } {
  let calls = 0;
  let active = 0;
  let peak = 0;
  return {
    calls: () => calls,
    peak: () => peak,
    fetch: async (): Promise<TokenResponse> => {
      calls++;
      active++;
      peak = Math.max(peak, active);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      active--;
      return {
        status: 200,
        headers: {},
        body: JSON.stringify({ access_token: `tok-${calls}`, token_type: 'bearer', expires_in: 300 }),
      };
    },
  };
}

describe('createTokenProvider across replicas (Redis)', () => {
  const connections: Redis[] = [];
  let admin: Redis;
  let sourceId: string;

  beforeAll(() => {
    admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  });

  afterEach(async () => {
    await admin.del(`ehrflow:tok:${sourceId}`, `ehrflow:tok:${sourceId}:lock`);
    await Promise.all(connections.splice(0).map((c) => c.quit()));
  });

  afterAll(async () => {
    await admin.quit();
  });

  function replica(
    fetch: TokenFetch,
    overrides: Partial<TokenProviderOptions> = {},
  ): ReturnType<typeof createTokenProvider> {
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    connections.push(redis);
    return createTokenProvider({
      sourceId,
      tokenUrl: 'https://ehr.example/token',
      clientId: 'client',
      auth: { kind: 'secret', secret: 'secret' },
      scopes: ['system/*.rs'],
      redis,
      lockTtlMs: 2_000,
      lockPollMs: 10,
      fetch,
      ...overrides,
    });
  }

  it('with a cipher: one token request for two replicas × 10 concurrent callers, shared encrypted', async () => {
    sourceId = `test-${randomUUID().slice(0, 12)}`;
    const endpoint = slowEndpoint(100);
    const cipher = testCipher();
    const a = replica(endpoint.fetch, { cipher });
    const b = replica(endpoint.fetch, { cipher });
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).getToken()));
    expect(endpoint.calls()).toBe(1);
    expect(new Set(tokens)).toEqual(new Set(['tok-1']));
    const stored = await admin.get(`ehrflow:tok:${sourceId}`);
    expect(stored).not.toBeNull();
    expect(stored).not.toContain('tok-1');
    expect(await admin.exists(`ehrflow:tok:${sourceId}:lock`)).toBe(0);
    expect(a.refreshes() + b.refreshes()).toBe(1);
  });

  it('without a cipher: never stores the token, but serialises the replicas’ refreshes with the lock', async () => {
    sourceId = `test-${randomUUID().slice(0, 12)}`;
    const endpoint = slowEndpoint(50);
    const a = replica(endpoint.fetch);
    const b = replica(endpoint.fetch);
    const [ta, tb] = await Promise.all([a.getToken(), b.getToken()]);
    expect(endpoint.calls()).toBe(2);
    expect(endpoint.peak()).toBe(1);
    expect(new Set([ta, tb]).size).toBe(2);
    expect(await admin.exists(`ehrflow:tok:${sourceId}`)).toBe(0);
  });

  it('drops a refused token from the shared cache so the next caller refreshes', async () => {
    sourceId = `test-${randomUUID().slice(0, 12)}`;
    const endpoint = slowEndpoint(5);
    const cipher = testCipher();
    const a = replica(endpoint.fetch, { cipher });
    const b = replica(endpoint.fetch, { cipher });
    const first = await a.getToken();
    a.invalidate(first);
    await waitFor(async () => (await admin.exists(`ehrflow:tok:${sourceId}`)) === 0, {
      what: 'the cached token to expire from Redis',
      timeoutMs: 3_000,
      intervalMs: 10,
    });
    b.invalidate(first);
    expect(await b.getToken()).toBe('tok-2');
    expect(await a.getToken()).toBe('tok-2');
    expect(endpoint.calls()).toBe(2);
  });

  it('waits out a lock left by a crashed replica, then refreshes', async () => {
    sourceId = `test-${randomUUID().slice(0, 12)}`;
    await admin.set(`ehrflow:tok:${sourceId}:lock`, 'crashed-replica', 'PX', 300);
    const endpoint = slowEndpoint(1);
    const provider = replica(endpoint.fetch);
    expect(await provider.getToken()).toBe('tok-1');
    expect(endpoint.calls()).toBe(1);
  });

  it('refreshes without coordination (and says so) when Redis is unreachable', async () => {
    sourceId = `test-${randomUUID().slice(0, 12)}`;
    const redis = new Redis('redis://127.0.0.1:1', {
      maxRetriesPerRequest: 0,
      lazyConnect: true,
      retryStrategy: () => null,
    });
    redis.on('error', () => undefined);
    const warnings: string[] = [];
    const logger: HttpLogger = {
      debug: () => undefined,
      info: () => undefined,
      warn: (_o, msg) => warnings.push(msg),
    };
    const endpoint = slowEndpoint(1);
    const provider = createTokenProvider({
      sourceId,
      tokenUrl: 'https://ehr.example/token',
      clientId: 'client',
      auth: { kind: 'secret', secret: 'secret' },
      scopes: [],
      redis,
      fetch: endpoint.fetch,
      logger,
    });
    expect(await provider.getToken()).toBe('tok-1');
    expect(warnings).toEqual(['Redis unavailable for token coordination; refreshing without it']);
    redis.disconnect();
  });
});
