import { describe, expect, it } from 'vitest';
import { billingWaveTimes, feedPlan } from './feeds.ts';

describe('the feeds of a scenario', () => {
  it('grow the HL7 feed with the FHIR data, within bounds, paced over the run', () => {
    const small = feedPlan(140, 20_000, 60_000);
    expect(small.perSender).toBe(10);
    const demo = feedPlan(6_600, 90_000, 600_000);
    expect(demo.perSender).toBe(66);
    expect(demo.driftFrom).toBe(39);
    // The three senders' messages arrive over about the pace, not in a burst.
    expect(demo.perSender / (demo.ratePerSecond ?? Infinity)).toBeCloseTo(90, 0);
    expect(demo.deadlineMs).toBe(600_000);
    expect(feedPlan(10_000_000, 90_000, 1).perSender).toBe(400);
  });

  it('spread the billing drops over the pace, the first at once', () => {
    expect(billingWaveTimes(3, 90_000)).toEqual([0, 30_000, 60_000]);
    expect(billingWaveTimes(0, 90_000)).toEqual([0]);
  });
});
