import { describe, expect, it } from 'vitest';
import { createLogger } from '@ehrflow/logging';
import { createAlertManager } from './alerts/alert-manager.ts';
import type { Alert, AlertSignal } from './alerts/alert.ts';
import { createDriftAggregator } from './drift-aggregator.ts';
import type { DriftObservation } from './drift-observation.ts';
import { createMonitor } from './monitor.ts';
import { createQuarantineSpikes } from './quarantine-spikes.ts';
import { createRedisAlertClaim, replicaTransactionalId } from './replica.ts';

/** The part of Redis the claim uses: SET key value PX ms NX, with expiry on a fake clock. */
function fakeRedis() {
  const keys = new Map<string, { value: string; expiresAt: number }>();
  let now = 0;
  return {
    keys,
    advance(ms: number) {
      now += ms;
    },
    set(key: string, value: string, _px: 'PX', ms: number, _nx: 'NX'): Promise<'OK' | null> {
      const held = keys.get(key);
      if (held !== undefined && held.expiresAt > now) return Promise.resolve(null);
      keys.set(key, { value, expiresAt: now + ms });
      return Promise.resolve('OK');
    },
  };
}

const logger = createLogger({ name: 'replica-test', level: 'silent' });
const signal: AlertSignal = {
  kind: 'unexpected_field',
  sourceId: 'site-a',
  resourceType: 'Patient',
  subject: 'ehr.valid.Patient-value',
  version: 3,
  fieldPath: 'Patient.extra',
  reason: null,
  since: 1_000,
  count: 1,
  firstOffset: '17',
};

describe('replicaTransactionalId', () => {
  it('differs per host and honours an explicit id', () => {
    const config = { VALIDATOR_GROUP_ID: 'ehrflow-validator' };
    expect(replicaTransactionalId(config, 'pod-a')).not.toBe(replicaTransactionalId(config, 'pod-b'));
    expect(replicaTransactionalId(config, 'pod-a')).toBe('ehrflow-validator-tx-pod-a');
    expect(replicaTransactionalId({ ...config, VALIDATOR_TRANSACTIONAL_ID: 'fixed' }, 'pod-a')).toBe('fixed');
  });
});

describe('alert de-duplication shared by replicas', () => {
  it('two replicas seeing the same drift send one alert per window; the next window sends again', async () => {
    const redis = fakeRedis();
    const sent: Alert[] = [];
    const replicas = ['a', 'b'].map((replica) =>
      createAlertManager({
        sinks: [
          {
            name: 'memory',
            send: (a) => {
              sent.push(a);
              return Promise.resolve();
            },
          },
        ],
        gatherMs: 0,
        windowMs: 60_000,
        claim: createRedisAlertClaim({ redis, prefix: 'ehrflow:test:alert:', replica, logger }),
      }),
    );
    for (const manager of replicas) {
      manager.signal(signal, 1_000);
      await manager.tick(1_000);
    }
    expect(sent).toHaveLength(1);
    expect(replicas.map((m) => m.counts)).toEqual([
      { sent: 1, suppressed: 0 },
      { sent: 0, suppressed: 1 },
    ]);
    redis.advance(60_001);
    replicas[1]?.signal(signal, 70_000);
    await replicas[1]?.tick(70_000);
    expect(sent).toHaveLength(2);
  });

  it('keeps record values and names out of the Redis key (a hash of the pair)', async () => {
    const redis = fakeRedis();
    const claim = createRedisAlertClaim({ redis, prefix: 'ehrflow:test:alert:', replica: 'a', logger });
    await claim('site-a\u0000Patient', 1_000);
    const [key] = [...redis.keys.keys()];
    expect(key).toMatch(/^ehrflow:test:alert:[0-9a-f]{32}$/);
  });

  it('sends when Redis fails (a duplicate beats a lost alert)', async () => {
    const failing = { set: () => Promise.reject(new Error('connection lost')) };
    const claim = createRedisAlertClaim({ redis: failing, prefix: 'p:', replica: 'a', logger });
    expect(await claim('k', 1_000)).toBe(true);
  });
});

describe('drift counts shared by replicas', () => {
  const observation = (offset: number): DriftObservation => ({
    kind: 'missing_field',
    sourceId: 'site-u',
    resourceType: 'Patient',
    subject: 'ehr.valid.Patient-value',
    version: 1,
    fieldPath: 'Patient.birthDate',
    expectedType: 'string',
    observedType: null,
    offset: String(offset),
    at: 0,
  });

  it('keeps the local count while the shared counter fails, and adds it once when it is back', async () => {
    let clock = 0;
    let total = 100; // what the other replicas have counted already
    let failing = true;
    const additions: number[] = [];
    const counts: number[] = [];
    const monitor = createMonitor({
      aggregator: createDriftAggregator({ reportMs: 1_000 }),
      alerts: createAlertManager({ sinks: [], gatherMs: 0, windowMs: 30_000 }),
      spikes: createQuarantineSpikes({ threshold: 1_000, windowMs: 60_000 }),
      emit: (events) => {
        counts.push(...events.map((e) => e.count));
        return Promise.resolve();
      },
      sharedCount: (_eventId, delta) => {
        if (failing) return Promise.resolve(undefined);
        additions.push(delta);
        total += delta;
        return Promise.resolve(total);
      },
      logger,
      now: () => clock,
    });
    monitor.observeDrift([observation(1), observation(2), observation(3)]);
    await monitor.tick();
    expect(counts).toEqual([3]);
    failing = false;
    monitor.observeDrift([observation(4)]);
    clock += 1_500;
    await monitor.tick();
    expect(additions).toEqual([4]);
    expect(counts).toEqual([3, 104]);
    monitor.observeDrift([observation(5)]);
    clock += 1_500;
    await monitor.tick();
    expect(additions).toEqual([4, 1]);
    expect(counts).toEqual([3, 104, 105]);
  });
});
