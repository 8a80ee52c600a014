import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadBaselines } from './baselines.ts';

describe('loadBaselines', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const baseline = (source: string) => ({
    source,
    learnedAt: '2026-12-01T00:00:00.000Z',
    records: { Observation: 800 },
    fillRates: { Observation: { valueQuantityValue: 0.42, bpSystolicValue: 0.1 } },
  });

  it('gives a source with a baseline its rates per type, and none to a source without', () => {
    dir = mkdtempSync(join(tmpdir(), 'baselines-'));
    writeFileSync(join(dir, 'site-20240917.json'), JSON.stringify(baseline('site-20240917')));
    const b = loadBaselines(dir);
    expect(b.sources).toEqual(['site-20240917']);
    expect(b.ratesFor('site-20240917', 'Observation')).toEqual({
      valueQuantityValue: 0.42,
      bpSystolicValue: 0.1,
    });
    expect(b.ratesFor('site-20240917', 'Patient')).toEqual({});
    expect(b.ratesFor('site-other', 'Observation')).toBeUndefined();
    expect(loadBaselines(join(dir, 'missing')).sources).toEqual([]);
  });

  it('refuses a bad file at load, naming it', () => {
    dir = mkdtempSync(join(tmpdir(), 'baselines-'));
    writeFileSync(
      join(dir, 'site-a.json'),
      JSON.stringify({ ...baseline('site-a'), fillRates: { Observation: { x: 1.5 } } }),
    );
    expect(() => loadBaselines(dir)).toThrow(/baselines\/site-a\.json: fillRates\.Observation\.x/);
    writeFileSync(join(dir, 'site-a.json'), JSON.stringify(baseline('site-b')));
    expect(() => loadBaselines(dir)).toThrow(/site-a\.json: names source site-b/);
  });
});
