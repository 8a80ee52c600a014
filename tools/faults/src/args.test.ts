import { describe, expect, it } from 'vitest';
import { parseFaultsArgs } from './args.ts';

describe('npm run faults arguments', () => {
  it('default to every named scenario at the issue durations', () => {
    const args = parseFaultsArgs([]);
    expect(args.scenarios).toEqual([]);
    expect(args.random).toBe(0);
    expect(args.durations.kafkaOutageMs).toBe(30_000);
    expect(args.durations.registryOutageMs).toBe(60_000);
    expect(args.durations.redisOutageMs).toBe(30_000);
    expect(args.durations.linkOutageMs).toBe(30_000);
  });

  it('default to a demo-sized run with the feeds, and shrink on request', () => {
    const full = parseFaultsArgs([]);
    expect(full.sites * full.patients).toBeGreaterThanOrEqual(450);
    expect(full.feeds).toBe(true);
    expect(full.billingWaves).toBe(3);
    const small = parseFaultsArgs(['--sites', '1', '--patients', '10', '--no-feeds', '--link-outage', '8']);
    expect(small.sites * small.patients).toBe(10);
    expect(small.feeds).toBe(false);
    expect(small.durations.linkOutageMs).toBe(8_000);
    expect(() => parseFaultsArgs(['--billing-waves', '0'])).toThrow(/--billing-waves/);
  });

  it('take repeated scenarios, random runs, seeds and short durations', () => {
    const args = parseFaultsArgs([
      '--scenario',
      'kill-loader',
      '--scenario',
      'kafka-down',
      '--random',
      '3',
      '--seed',
      'x',
      '--random-seed',
      'x:7',
      '--kafka-outage',
      '2.5',
    ]);
    expect(args.scenarios).toEqual(['kill-loader', 'kafka-down']);
    expect(args.random).toBe(3);
    expect(args.randomSeeds).toEqual(['x:7']);
    expect(args.durations.kafkaOutageMs).toBe(2_500);
  });

  it('refuse out-of-range values, naming the option', () => {
    expect(() => parseFaultsArgs(['--random', '-1'])).toThrow(/--random/);
    expect(() => parseFaultsArgs(['--patients', '1.5'])).toThrow(/--patients/);
    expect(() => parseFaultsArgs(['--bogus'])).toThrow();
  });
});
