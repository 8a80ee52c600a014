import { describe, expect, it } from 'vitest';
import { createFillRateTracker, type FillRateContract } from './fill-rate.ts';

const contract: FillRateContract = {
  name: 'ehrflow.fhir.Patient',
  fields: [
    { name: 'sourceId', fillRate: 1, fhirPath: undefined, attrs: {} },
    {
      name: 'telecomPhone',
      fillRate: 0.7,
      fhirPath: "telecom.where(system='phone').value.first()",
      attrs: {},
    },
    { name: 'nameGiven', fillRate: 0.9, fhirPath: 'name.first().given', attrs: {} },
    { name: 'extensionLike', fillRate: undefined, fhirPath: 'gender', attrs: {} },
    { name: 'valueType', fillRate: undefined, fhirPath: undefined, attrs: { fhirChoice: 'value' } },
  ],
};

/** n records from one source; `filled(i)` says which fields record i carries. */
function feed(
  tracker: ReturnType<typeof createFillRateTracker>,
  sourceId: string,
  n: number,
  filled: (i: number) => { phone: boolean; given: boolean; other: boolean },
): void {
  for (let i = 0; i < n; i++) {
    const f = filled(i);
    tracker.observe({
      sourceId,
      telecomPhone: f.phone ? 'enc:v1:x' : null,
      nameGiven: f.given ? ['x'] : [],
      extensionLike: f.other ? 'x' : null,
      valueType: 'Quantity',
    });
  }
}

const healthy = (i: number) => ({ phone: i % 10 < 8, given: true, other: true });

describe('fill-rate tracker', () => {
  it('stays quiet while fields fill as expected', () => {
    const tracker = createFillRateTracker(contract, { windowSize: 100 });
    feed(tracker, 'source-a', 500, healthy);
    expect(tracker.drops()).toEqual([]);
  });

  it('reports a field falling below its contract fill rate minus the tolerance', () => {
    const tracker = createFillRateTracker(contract, { windowSize: 100, tolerance: 0.1 });
    feed(tracker, 'source-a', 100, (i) => ({ phone: i % 10 < 5, given: true, other: true }));
    expect(tracker.drops()).toEqual([
      {
        sourceId: 'source-a',
        resourceType: 'Patient',
        fieldPath: 'telecomPhone',
        observed: 0.5,
        expected: 0.7,
        baseline: null,
        window: 0,
        records: 100,
        reasons: ['below_expected'],
      },
    ]);
    expect(tracker.drops()).toEqual([]);
  });

  it('reports a drop against the baseline of a field without a declared fill rate, per source', () => {
    const tracker = createFillRateTracker(contract, { windowSize: 100, baselineFactor: 0.7 });
    feed(tracker, 'source-a', 300, healthy);
    feed(tracker, 'source-b', 100, healthy);
    expect(tracker.drops()).toEqual([]);
    feed(tracker, 'source-a', 100, (i) => ({ ...healthy(i), other: i % 2 === 0 }));
    const drops = tracker.drops();
    expect(drops.map((d) => [d.sourceId, d.fieldPath, d.observed, d.baseline, d.window, d.reasons])).toEqual([
      ['source-a', 'extensionLike', 0.5, 1, 3, ['below_baseline']],
    ]);
  });

  it('lets a lasting change become the new baseline', () => {
    const tracker = createFillRateTracker(contract, { windowSize: 100, smoothing: 0.5, baselineFactor: 0.7 });
    feed(tracker, 'source-a', 100, healthy);
    feed(tracker, 'source-a', 500, (i) => ({ ...healthy(i), other: i % 2 === 0 }));
    const windows = tracker
      .drops()
      .filter((d) => d.fieldPath === 'extensionLike')
      .map((d) => d.window);
    expect(windows).toEqual([1, 2]); // baselines 1 → 0.75 → 0.625 (< 0.5 / 0.7): quiet from window 3
  });

  it('tracks only fields mapped from the resource, counting empty arrays as unfilled', () => {
    const tracker = createFillRateTracker(contract, { windowSize: 10 });
    feed(tracker, 'source-a', 10, () => ({ phone: true, given: false, other: true }));
    expect(tracker.drops().map((d) => d.fieldPath)).toEqual(['nameGiven']);
  });

  it('closes partial windows on flush when they hold enough records', () => {
    const tracker = createFillRateTracker(contract, { windowSize: 1000 });
    feed(tracker, 'source-a', 20, () => ({ phone: false, given: true, other: true }));
    tracker.flush(50);
    expect(tracker.drops()).toEqual([]);
    tracker.flush(10);
    expect(tracker.drops().map((d) => [d.fieldPath, d.observed, d.records])).toEqual([
      ['telecomPhone', 0, 20],
    ]);
  });

  it('rejects nonsensical options', () => {
    expect(() => createFillRateTracker(contract, { windowSize: 0 })).toThrow(RangeError);
    expect(() => createFillRateTracker(contract, { smoothing: 0 })).toThrow(RangeError);
  });

  describe('with accepted baselines (expectedRates)', () => {
    const accepted: Record<string, Readonly<Record<string, number>>> = {
      'source-a': { telecomPhone: 0.3, nameGiven: 0.95 },
    };
    const options = { windowSize: 100, tolerance: 0.1, expectedRates: (s: string) => accepted[s] };

    it("compares a source with its own accepted rates instead of the contract's", () => {
      const tracker = createFillRateTracker(contract, options);
      // Phone at 50%: below the contract's 0.7, above the source's accepted 0.3: no drop.
      feed(tracker, 'source-a', 100, (i) => ({ phone: i % 10 < 5, given: true, other: true }));
      expect(tracker.drops()).toEqual([]);
      // Given names at 80%: below the accepted 0.95 - 0.1.
      feed(tracker, 'source-a', 100, (i) => ({ phone: i % 10 < 5, given: i % 10 < 8, other: true }));
      expect(tracker.drops().map((d) => [d.fieldPath, d.expected, d.reasons])).toEqual([
        ['nameGiven', 0.95, ['below_expected']],
      ]);
      expect(tracker.needsBaseline()).toEqual([]);
    });

    it('reports a source without a baseline once, and raises no drop against the contract for it', () => {
      const tracker = createFillRateTracker(contract, options);
      feed(tracker, 'source-new', 300, () => ({ phone: false, given: false, other: true }));
      expect(tracker.drops()).toEqual([]);
      expect(tracker.needsBaseline()).toEqual(['source-new']);
      feed(tracker, 'source-new', 100, () => ({ phone: false, given: false, other: true }));
      expect(tracker.needsBaseline()).toEqual([]);
      // Its own history still counts: a field it used to fill going empty is a drop.
      feed(tracker, 'source-new', 100, () => ({ phone: false, given: false, other: false }));
      expect(tracker.drops().map((d) => [d.fieldPath, d.expected, d.reasons])).toEqual([
        ['extensionLike', null, ['below_baseline']],
      ]);
    });
  });
});
