import { describe, expect, it } from 'vitest';
import type { FaultContext } from '../scenario.ts';
import { failingChecks } from './dependencies.ts';
import { SCENARIOS, scenarioByName } from './index.ts';

describe('the scenario registry', () => {
  it('names every scenario uniquely, in kebab case', () => {
    const names = SCENARIOS.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
  });

  it('holds the issue named scenarios', () => {
    for (const name of [
      'kill-extractor',
      'kill-validator',
      'kill-redactor',
      'kill-loader',
      'kill-all',
      'kafka-down',
      'kafka-kill',
      'registry-down',
      'postgres-restart',
      'redis-down',
      'backfill-race',
      'cancel-resume',
      'kill-mllp-receiver',
      'kill-billing-receiver',
      'ehr-packet-loss',
      'ehr-latency',
      'ehr-bandwidth',
      'ehr-link-down',
      'ehr-link-flap',
      'ehr-black-hole',
    ])
      expect(scenarioByName(name).name).toBe(name);
  });

  it('refuses an unknown name, listing the known ones', () => {
    expect(() => scenarioByName('nope')).toThrow(/known: kill-extractor/);
  });
});

describe('kafka-kill', () => {
  it('kills the broker (no clean stop), then starts it again after the outage', async () => {
    const calls: string[] = [];
    const ctx = {
      durations: { kafkaOutageMs: 10 },
      killDependency: (dep: string) => Promise.resolve(void calls.push(`kill ${dep}`)),
      stopDependency: (dep: string) => Promise.resolve(void calls.push(`stop ${dep}`)),
      startDependency: (dep: string) => Promise.resolve(void calls.push(`start ${dep}`)),
      readiness: () => Promise.resolve({ status: 503, body: '' }),
      sleep: () => Promise.resolve(),
      log: () => undefined,
    } as unknown as FaultContext;
    const outcome = await scenarioByName('kafka-kill').inject(ctx);
    expect(calls).toEqual(['kill kafka', 'start kafka']);
    expect(outcome?.faultEndedAt).toBeTypeOf('number');
  });
});

describe('failingChecks', () => {
  it('names the checks a /readyz body reports as failing', () => {
    expect(failingChecks(JSON.stringify({ checks: { kafka: { ok: false }, registry: { ok: true } } }))).toBe(
      ' (kafka)',
    );
    expect(failingChecks('not json')).toBe('');
  });
});
