import { describe, expect, it } from 'vitest';
import { leakScan } from './leak-scan.ts';

const canaries = [
  { label: 'ssn', value: '000-12-3456' },
  { label: 'family', value: 'Quibbleworth' },
  { label: 'address', value: '42 Larkspur Lane' },
];

describe('leakScan', () => {
  it('finds canaries case-insensitively, with other separators, and counts them', () => {
    const hits = leakScan(
      [
        { where: 'log', text: '{"msg":"patient QUIBBLEWORTH quibbleworth"}' },
        { where: 'topic', text: 'ssn=000 12 3456 and 000123456' },
        { where: 'redis', text: '42  Larkspur\nLane' },
        { where: 'clean', text: '[NAME] [SSN] [ADDRESS]' },
      ],
      canaries,
    );
    expect(hits).toEqual([
      { where: 'log', canary: 'family', count: 2 },
      { where: 'topic', canary: 'ssn', count: 2 },
      { where: 'redis', canary: 'address', count: 1 },
    ]);
  });

  it('reports labels, never values', () => {
    const hits = leakScan(['Quibbleworth'], canaries);
    expect(JSON.stringify(hits)).not.toContain('Quibbleworth');
    expect(hits).toEqual([{ where: '#0', canary: 'family', count: 1 }]);
  });

  it('can match strictly', () => {
    expect(leakScan(['000123456'], canaries, { loose: false })).toEqual([]);
  });

  it('refuses canaries too short to mean anything', () => {
    expect(() => leakScan(['x'], [{ label: 'tiny', value: 'ab' }])).toThrow(RangeError);
  });
});
