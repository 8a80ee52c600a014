/**
 * Replica state shared through the real Redis. Alert de-duplication: three validator alert
 * managers (as three replicas) see the same drift at once; exactly one alert leaves, and the Redis
 * key holds a hash, not the source or the resource type. Drift counts: three monitors count their
 * own observations of one drift, and the events they produce carry the sum over the replicas.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@ehrflow/logging';
import { createAlertManager } from './alerts/alert-manager.ts';
import type { Alert } from './alerts/alert.ts';
import type { DriftEvent } from '@ehrflow/contracts';
import { createDriftAggregator } from './drift-aggregator.ts';
import type { DriftObservation } from './drift-observation.ts';
import { createMonitor } from './monitor.ts';
import { createQuarantineSpikes } from './quarantine-spikes.ts';
import { createRedisAlertClaim, createRedisDriftCounter } from './replica.ts';

const run = randomUUID().slice(0, 8);
const prefix = `ehrflow:int-${run}:alert:`;
const countPrefix = `ehrflow:int-${run}:drift-count:`;
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
    const keys = [...(await redis.keys(`${prefix}*`)), ...(await redis.keys(`${countPrefix}*`))];
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

  it('three replicas counting one drift produce events with the count summed over all of them', async () => {
    let clock = 1_000_000;
    const produced: { replica: string; event: DriftEvent }[] = [];
    const observation = (offset: number): DriftObservation => ({
      kind: 'unexpected_field',
      sourceId: 'site-int',
      resourceType: 'Observation',
      subject: 'ehr.valid.Observation-value',
      version: 1,
      fieldPath: 'Observation.extraField',
      expectedType: null,
      observedType: 'string',
      offset: String(offset),
      at: clock,
    });
    const replicas = ['r1', 'r2', 'r3'].map((replica) => ({
      replica,
      monitor: createMonitor({
        aggregator: createDriftAggregator({ reportMs: 1_000 }),
        alerts: createAlertManager({ sinks: [], gatherMs: 0, windowMs: 30_000 }),
        spikes: createQuarantineSpikes({ threshold: 1_000, windowMs: 60_000 }),
        emit: (events) => {
          for (const event of events) produced.push({ replica, event });
          return Promise.resolve();
        },
        sharedCount: createRedisDriftCounter({ redis, prefix: countPrefix, logger }),
        logger,
        now: () => clock,
      }),
    }));
    // Replica i sees 2, 3 and 5 records of the drift in its partitions.
    const seen = [2, 3, 5];
    replicas.forEach(({ monitor }, i) =>
      monitor.observeDrift(Array.from({ length: seen[i] ?? 0 }, (_, n) => observation(n))),
    );
    for (const { monitor } of replicas) await monitor.tick();
    const firstRound = produced.splice(0);
    expect(firstRound.map((p) => p.replica)).toEqual(['r1', 'r2', 'r3']);
    // Each adds its own count in turn: the last event of the round carries the whole.
    expect(firstRound.map((p) => p.event.count)).toEqual([2, 5, 10]);
    expect(new Set(firstRound.map((p) => p.event.eventId)).size).toBe(1);

    // Later records: only what each replica counted since is added, nothing twice.
    replicas[0]?.monitor.observeDrift([observation(10), observation(11)]);
    replicas[2]?.monitor.observeDrift([observation(12)]);
    clock += 1_500;
    for (const { monitor } of replicas) await monitor.tick();
    expect(produced.map((p) => [p.replica, p.event.count])).toEqual([
      ['r1', 12],
      ['r3', 13],
    ]);
    const keys = await redis.keys(`${countPrefix}*`);
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toMatch(/site-int|Observation/);
    expect(await redis.get(keys[0] ?? '')).toBe('13');
    expect(await redis.pttl(keys[0] ?? '')).toBeGreaterThan(0);
  });
});
