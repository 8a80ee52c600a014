import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpClient } from './client.ts';
import { createRateLimiter } from './rate-limiter.ts';
import { startLocalServer, type LocalServer } from './testing/local-server.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('createHttpClient with the shared Redis limiter', () => {
  let redis: Redis;
  let other: Redis;
  let server: LocalServer;
  const sourceId = `test-${randomUUID().slice(0, 12)}`;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    other = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    server = await startLocalServer((_req, res, _body, i) => {
      res.writeHead(i === 0 ? 429 : 200, { 'content-type': 'application/fhir+json', 'retry-after': '0' });
      res.end('{}');
    });
  });

  afterAll(async () => {
    await redis.del(`ehrflow:rl:${sourceId}`, `ehrflow:rl:${sourceId}:waiting`);
    await Promise.all([redis.quit(), other.quit(), server.close()]);
  });

  it('a 429 seen by one replica slows the rate every replica reads', async () => {
    const limiter = createRateLimiter({ redis, sourceId, publishedLimitPerMinute: 6_000 });
    const replica = createRateLimiter({ redis: other, sourceId, publishedLimitPerMinute: 6_000 });
    const client = createHttpClient({
      baseUrl: server.url,
      limiter,
      retryPolicy: { retries: 2, initialMs: 1, factor: 2, maxMs: 5 },
    });
    try {
      const res = await client.json('GET', 'Patient');
      expect(res.status).toBe(200);
      expect(client.counters()).toMatchObject({ rateLimited: 1, retries: 1 });
      // 3600/min budget halved by the 429; the success afterwards is inside the cool-down.
      expect(await replica.currentRatePerMinute()).toBe(1_800);
    } finally {
      await client.close();
    }
  });
});
