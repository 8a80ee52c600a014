import { describe, expect, it } from 'vitest';
import { mergeFaults, NO_FAULTS } from '@ehrflow/ehr-sim';
import {
  describeSchedule,
  drawSchedule,
  expectsPartial,
  randomScenario,
  type DependencyStep,
} from './random.ts';
import type { FaultDurations } from './scenario.ts';

const DURATIONS: FaultDurations = {
  killPauseMs: 2_000,
  kafkaOutageMs: 10_000,
  registryOutageMs: 10_000,
  postgresOutageMs: 5_000,
  redisOutageMs: 10_000,
  linkOutageMs: 10_000,
};

describe('random fault schedules', () => {
  it('are a function of the seed: the same seed draws the same schedule', () => {
    const a = drawSchedule('ci:1', DURATIONS, 30_000);
    const b = drawSchedule('ci:1', DURATIONS, 30_000);
    expect(b).toEqual(a);
    expect(describeSchedule(b)).toEqual(describeSchedule(a));
  });

  it('draw only EHR faults the simulator accepts, and one burst setting at a time', () => {
    let bursts = 0;
    for (let i = 0; i < 300; i++) {
      const schedule = drawSchedule(`accept:${i}`, DURATIONS, 30_000);
      const ehr = schedule.steps.filter((step) => step.kind === 'ehr');
      let faults = NO_FAULTS;
      for (const step of ehr) faults = mergeFaults(faults, step.faults);
      const withBursts = ehr.filter((step) => step.faults.serverErrors !== undefined);
      expect(withBursts.length, schedule.seed).toBeLessThanOrEqual(1);
      if (withBursts.length === 1) bursts++;
    }
    // Both burst faults (throttling 429s and 5xx) come up among the seeds.
    expect(bursts).toBeGreaterThan(20);
  });

  it('differ between seeds and draw from both sides of the repertoire', () => {
    const schedules = Array.from({ length: 40 }, (_, i) => drawSchedule(`s:${i}`, DURATIONS, 30_000));
    const texts = new Set(schedules.map((s) => JSON.stringify(s.steps)));
    expect(texts.size).toBeGreaterThan(30);
    const kinds = new Set(schedules.flatMap((s) => s.steps.map((step) => step.kind)));
    expect([...kinds].sort()).toEqual(['ehr', 'kill', 'link', 'outage', 'revoke']);
    for (const s of schedules) {
      expect(s.steps.some((step) => step.kind === 'ehr')).toBe(true);
      expect(s.steps.some((step) => step.kind === 'kill' || step.kind === 'outage')).toBe(true);
    }
  });

  it('keep every dependency fault bounded by the configured durations and in order', () => {
    for (let i = 0; i < 40; i++) {
      const timed = drawSchedule(`b:${i}`, DURATIONS, 30_000).steps;
      let previousEnd = 0;
      for (const step of timed) {
        if (step.kind === 'ehr') continue;
        expect(step.atMs).toBeGreaterThanOrEqual(previousEnd);
        expect(step.durationMs).toBeLessThanOrEqual(10_000);
        previousEnd = step.atMs + step.durationMs;
      }
    }
  });

  it('draw EHR link faults and feed receiver kills, bounded by the link outage and the kill pause', () => {
    const steps = Array.from(
      { length: 60 },
      (_, i) => drawSchedule(`n:${i}`, DURATIONS, 30_000).steps,
    ).flat();
    const links = steps.filter((s) => s.kind === 'link');
    expect(new Set(links.map((s) => s.fault.kind)).size).toBeGreaterThanOrEqual(4);
    for (const s of links) expect(s.durationMs).toBeLessThanOrEqual(DURATIONS.linkOutageMs / 2);
    const receiverKills = steps.filter(
      (s): s is DependencyStep =>
        s.kind === 'kill' &&
        (s.target as readonly string[]).some((t) => t === 'mllp-receiver' || t === 'billing-receiver'),
    );
    expect(receiverKills.length).toBeGreaterThan(0);
    for (const s of receiverKills) expect(s.durationMs).toBeLessThanOrEqual(DURATIONS.killPauseMs);
  });

  it('put a fault proxy in front of the EHR only when a link fault is drawn', () => {
    for (let i = 0; i < 20; i++) {
      const schedule = drawSchedule(`x:${i}`, DURATIONS, 30_000);
      const hasLink = schedule.steps.some((s) => s.kind === 'link');
      expect(randomScenario(schedule, i).prepare !== undefined).toBe(hasLink);
    }
  });

  it('expect a partial job only when the EHR reports error entries', () => {
    for (let i = 0; i < 40; i++) {
      const schedule = drawSchedule(`p:${i}`, DURATIONS, 30_000);
      const hasErrors = schedule.steps.some((s) => s.kind === 'ehr' && s.faults.exportErrorFile === true);
      expect(expectsPartial(schedule)).toBe(hasErrors);
      expect(randomScenario(schedule, i).acceptsPartial).toBe(hasErrors);
    }
  });
});
