/**
 * Alert de-duplication across replicas through the real Redis: three validator alert managers
 * (as three replicas) see the same drift at once; exactly one alert leaves, and the Redis key
 * holds a hash, not the source or the resource type.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@ehrflow/logging';
import { createAlertManager } from './alerts/alert-manager.ts';
import type { Alert } from './alerts/alert.ts';
import { createRedisAlertClaim } from './replica.ts';

const prefix = `ehrflow:int-${randomUUID().slice(0, 8)}:alert:`;
const logger = createLogger({ name: 'replica-int', level: 'silent' });

describe('alert claims in Redis', () => {
  let redis: Redis;
  beforeAll(async () => {
    redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
      lazyConnect: true,
      maxRetriesPerRequest: 2,
    });
    await redis.connect();
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('three replicas seeing one drift at the same time send one alert', async () => {
    const sent: Alert[] = [];
    const managers = ['r1', 'r2', 'r3'].map((replica) =>
      createAlertManager({
        sinks: [
          {
            name: 'memory',
            send: (alert) => {
              sent.push(alert);
              return Promise.resolve();
            },
          },
        ],
        gatherMs: 0,
        windowMs: 30_000,
        claim: createRedisAlertClaim({ redis, prefix, replica, logger }),
      }),
    );
    const now = Date.now();
    for (const m of managers)
      m.signal(
        {
          kind: 'type_changed',
          sourceId: 'site-int',
          resourceType: 'Observation',
          subject: 'ehr.valid.Observation-value',
          version: 1,
          fieldPath: 'Observation.valueQuantity',
          reason: null,
          since: now,
          count: 1,
          firstOffset: '3',
        },
        now,
      );
    await Promise.all(managers.map((m) => m.tick(now)));
    expect(sent).toHaveLength(1);
    expect(managers.reduce((n, m) => n + m.counts.suppressed, 0)).toBe(2);
    const keys = await redis.keys(`${prefix}*`);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(/:[0-9a-f]{32}$/);
    expect(keys[0]).not.toMatch(/site-int|Observation/);
    expect(await redis.pttl(keys[0] ?? '')).toBeGreaterThan(0);
  });
});
