import { afterEach, describe, expect, it } from 'vitest';
import { PipelineError } from '@ehrflow/errors';
import { createDependencyCheck, createDependencyChecks, type DependencyProbe } from './dependency-checks.ts';
import { createServiceHttp, type ServiceHttp } from './service-http.ts';
import { capturingLogger } from './testing/capturing-logger.ts';

const CANARY = 'Canaryjane Doerson';

/** A probe whose answers the test scripts; counts calls; `hang()` makes the next call never settle. */
function scriptedProbe() {
  let outcome: 'up' | Error = 'up';
  let hanging: { resolve: () => void; reject: (err: unknown) => void } | undefined;
  let hangNext = false;
  const probe = {
    calls: 0,
    closed: 0,
    probe(): Promise<void> {
      probe.calls += 1;
      if (hangNext) {
        hangNext = false;
        return new Promise<void>((resolve, reject) => {
          hanging = { resolve, reject };
        });
      }
      return outcome === 'up' ? Promise.resolve() : Promise.reject(outcome);
    },
    close(): Promise<void> {
      probe.closed += 1;
      return Promise.resolve();
    },
    up: () => {
      outcome = 'up';
    },
    down: (err: Error = new PipelineError('KAFKA_UNAVAILABLE', 'Kafka unavailable during probe')) => {
      outcome = err;
    },
    hang: () => {
      hangNext = true;
    },
    settleHanging: (ok: boolean) => (ok ? hanging?.resolve() : hanging?.reject(new Error('late'))),
  };
  return probe;
}

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('createDependencyCheck', () => {
  it('answers from the cache within the interval and asks again after it', async () => {
    const probe = scriptedProbe();
    const time = clock();
    const log = capturingLogger('test-deps');
    const dep = createDependencyCheck({
      name: 'kafka',
      probe,
      logger: log.logger,
      intervalMs: 5000,
      now: time.now,
    });

    expect(dep.state()).toBe('unknown');
    expect(await dep.check()).toBe(true);
    expect(await dep.check()).toBe(true);
    time.advance(4999);
    expect(await dep.check()).toBe(true);
    expect(probe.calls).toBe(1);

    probe.down();
    time.advance(1);
    expect(await dep.check()).toBe(false);
    expect(probe.calls).toBe(2);
    expect(dep.state()).toBe('unreachable');
  });

  it('shares one probe among concurrent callers', async () => {
    const probe = scriptedProbe();
    const dep = createDependencyCheck({ name: 'kafka', probe, logger: capturingLogger('test-deps').logger });
    const answers = await Promise.all([dep.check(), dep.check(), dep.check()]);
    expect(answers).toEqual([true, true, true]);
    expect(probe.calls).toBe(1);
  });

  it('answers false within its timeout when the probe hangs, and a late answer still counts', async () => {
    const probe = scriptedProbe();
    const time = clock();
    const log = capturingLogger('test-deps');
    const dep = createDependencyCheck({
      name: 'registry',
      probe,
      logger: log.logger,
      timeoutMs: 30,
      intervalMs: 1000,
      now: time.now,
    });
    probe.hang();
    expect(await dep.check()).toBe(false);
    expect(dep.state()).toBe('unreachable');
    expect(log.lines.find((l) => l.msg === 'dependency unreachable')).toMatchObject({
      dependency: 'registry',
      reason: 'timeout',
    });

    // Still hung after the interval: the same probe is awaited again, not a second one started.
    time.advance(1000);
    expect(await dep.check()).toBe(false);
    expect(probe.calls).toBe(1);

    probe.settleHanging(true);
    await expect.poll(() => dep.state()).toBe('reachable');
  });

  it('logs changes of state only, with a code and never an error message', async () => {
    const probe = scriptedProbe();
    const time = clock();
    const log = capturingLogger('test-deps');
    const dep = createDependencyCheck({
      name: 'kafka',
      probe,
      logger: log.logger,
      intervalMs: 10,
      now: time.now,
    });

    const foreign = Object.assign(new Error(`connect refused for ${CANARY}`), { code: 'ECONNREFUSED' });
    probe.down(foreign);
    for (let i = 0; i < 5; i += 1) {
      expect(await dep.check()).toBe(false);
      time.advance(10);
    }
    probe.up();
    for (let i = 0; i < 3; i += 1) {
      expect(await dep.check()).toBe(true);
      time.advance(10);
    }
    expect(probe.calls).toBe(8);
    const changes = log.lines.filter((l) => typeof l.dependency === 'string');
    expect(changes.map((l) => [l.msg, l.previous])).toEqual([
      ['dependency unreachable', 'unknown'],
      ['dependency reachable', 'unreachable'],
    ]);
    expect(changes[0]).toMatchObject({ dependency: 'kafka', reason: 'ECONNREFUSED' });
    expect(log.text()).not.toContain(CANARY);
  });

  it('reports the catalog code of a PipelineError and survives a probe that throws synchronously', async () => {
    const log = capturingLogger('test-deps');
    const throwing: DependencyProbe = {
      probe: () => {
        throw new PipelineError('REGISTRY_UNAVAILABLE', 'schema registry unreachable');
      },
    };
    const dep = createDependencyCheck({ name: 'registry', probe: throwing, logger: log.logger });
    expect(await dep.check()).toBe(false);
    expect(log.lines.find((l) => l.msg === 'dependency unreachable')).toMatchObject({
      reason: 'REGISTRY_UNAVAILABLE',
    });
  });
});

describe('createDependencyChecks', () => {
  const open: ServiceHttp[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((h) => h.close()));
  });

  it('adds each probe as a named /readyz check, alongside the existing ones', async () => {
    const log = capturingLogger('test-deps');
    const kafka = scriptedProbe();
    const registry = scriptedProbe();
    const http = createServiceHttp({ name: 'test-deps', port: 0, logger: log.logger, readiness: () => true });
    open.push(http);
    const deps = createDependencyChecks({ kafka, registry }, { logger: log.logger, intervalMs: 0 });
    deps.addTo(http);

    const ready = await http.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({
      status: 'ready',
      checks: { lifecycle: true, service: true, kafka: true, registry: true },
    });

    kafka.down();
    const notReady = await http.app.inject({ method: 'GET', url: '/readyz' });
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json()).toMatchObject({ status: 'not_ready', checks: { kafka: false, registry: true } });
  });

  it('closes every probe even when one fails to close', async () => {
    const a = scriptedProbe();
    const b: DependencyProbe = {
      probe: () => Promise.resolve(),
      close: () => Promise.reject(new Error('close failed')),
    };
    const c = scriptedProbe();
    const deps = createDependencyChecks({ a, b, c }, { logger: capturingLogger('test-deps').logger });
    await deps.close();
    expect([a.closed, c.closed]).toEqual([1, 1]);
  });
});
