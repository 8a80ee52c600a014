import { describe, expect, it } from 'vitest';
import { parseDemoArgs } from './args.ts';

describe('parseDemoArgs', () => {
  it('has the documented defaults', () => {
    expect(parseDemoArgs([])).toMatchObject({
      patients: 2000,
      sites: 3,
      faults: true,
      keepStack: true,
      report: undefined,
    });
  });

  it('reads size, faults, stack and report flags', () => {
    expect(
      parseDemoArgs([
        '--patients',
        '300',
        '--sites',
        '2',
        '--faults',
        'off',
        '--stop-stack',
        '--report',
        'r.json',
      ]),
    ).toMatchObject({
      patients: 300,
      sites: 2,
      faults: false,
      keepStack: false,
      report: 'r.json',
    });
  });

  it('refuses bad values', () => {
    expect(() => parseDemoArgs(['--faults', 'maybe'])).toThrow(/--faults/);
    expect(() => parseDemoArgs(['--patients', '0'])).toThrow(/--patients/);
    expect(() => parseDemoArgs(['--bogus'])).toThrow();
  });
});
