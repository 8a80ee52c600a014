import { describe, expect, it } from 'vitest';
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

describe('failingChecks', () => {
  it('names the checks a /readyz body reports as failing', () => {
    expect(failingChecks(JSON.stringify({ checks: { kafka: { ok: false }, registry: { ok: true } } }))).toBe(
      ' (kafka)',
    );
    expect(failingChecks('not json')).toBe('');
  });
});
