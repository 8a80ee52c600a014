import { describe, expect, it } from 'vitest';
import { createDriftAggregator } from './drift-aggregator.ts';
import type { DriftObservation } from './drift-observation.ts';

const obs = (offset: number, over: Partial<DriftObservation> = {}): DriftObservation => ({
  kind: 'missing_field',
  sourceId: 'site-a',
  resourceType: 'Patient',
  subject: 'ehr.valid.Patient-value',
  version: 1,
  fieldPath: 'Patient.birthDate',
  expectedType: null,
  observedType: null,
  offset: String(offset),
  at: 1000 + offset,
  ...over,
});

describe('drift aggregator', () => {
  it('reports a new drift at once, then only changed counts once per period', () => {
    const agg = createDriftAggregator({ reportMs: 60_000 });
    expect(agg.observe(obs(5))).toBe(true);
    expect(agg.observe(obs(6))).toBe(false);
    const first = agg.due(2000);
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({
      kind: 'missing_field',
      fieldPath: 'Patient.birthDate',
      firstOffset: '5',
      firstSeenAt: 1005,
      count: 2,
    });
    agg.markEmitted(first, 2000);
    expect(agg.due(3000)).toEqual([]);
    agg.observe(obs(7));
    expect(agg.due(30_000)).toEqual([]); // changed, but within the period
    const update = agg.due(62_000);
    expect(update).toHaveLength(1);
    expect(update[0]?.count).toBe(3);
    expect(update[0]?.eventId).toBe(first[0]?.eventId);
    expect(update[0]?.firstOffset).toBe('5');
  });

  it('keys drift by source, type, field and kind', () => {
    const agg = createDriftAggregator({ reportMs: 1000 });
    agg.observe(obs(1));
    agg.observe(obs(2, { kind: 'unexpected_field', fieldPath: 'Patient.dateOfBirth' }));
    agg.observe(obs(3, { sourceId: 'site-b' }));
    agg.observe(obs(4));
    expect(agg.size).toBe(3);
    expect(new Set(agg.due(0).map((e) => e.eventId)).size).toBe(3);
  });

  it('lists unreported counts for the final flush', () => {
    const agg = createDriftAggregator({ reportMs: 60_000 });
    agg.observe(obs(1));
    agg.markEmitted(agg.due(0), 0);
    expect(agg.pending()).toEqual([]);
    agg.observe(obs(2));
    expect(agg.pending().map((e) => e.count)).toEqual([2]);
  });
});
