import { syntheticInterchange, type InterchangeOptions } from '@ehrflow/x12-sim';
import { describe, expect, it } from 'vitest';
import { build999, buildTa1, ta1Of } from './ack.ts';
import { checkInterchange } from './envelope.ts';
import { tokenize } from './tokenizer.ts';

const base: InterchangeOptions = {
  seed: 11,
  controlNumber: 4242,
  groups: [
    { kind: '837P', sets: 2 },
    { kind: '835', sets: 1 },
  ],
};
const options = {
  party: { qualifier: 'ZZ', id: 'EHRFLOW', applicationCode: 'EHRFLOW' },
  controlNumber: 77,
  now: new Date('2026-02-03T04:05:00Z'),
};
const check = (o: Partial<InterchangeOptions> = {}) =>
  checkInterchange([syntheticInterchange({ ...base, ...o }).bytes]);
/** The acknowledgment as segments, each an element array (it parses with our own tokenizer). */
const segmentsOf = (ack: string | undefined) => {
  const { segments, problem } = tokenize(Buffer.from(ack ?? '', 'latin1'));
  expect(problem).toBeUndefined();
  return segments.map((s) => s.elements.join('*'));
};

describe('TA1', () => {
  it('accepts a good interchange, echoing ISA13, date and time, sender and receiver swapped', async () => {
    const segs = segmentsOf(buildTa1(await check(), options));
    expect(segs.find((s) => s.startsWith('TA1'))).toBe('TA1*000004242*260115*1200*A*000');
    expect(segs[0]).toContain('*ZZ*EHRFLOW        *ZZ*SIMCLEARING    *260203*0405*');
    expect(segs.at(-1)).toBe('IEA*0*000000077');
  });

  it.each([
    ['iea-count', 'R', '021'],
    ['cut', 'R', '023'],
  ] as const)('rejects an interchange with fault %s: %s %s', async (fault, code, note) => {
    const c = await check({ fault });
    expect(ta1Of(c)).toEqual({ code, note });
    expect(
      segmentsOf(buildTa1(c, options)).some((s) => s === `TA1*000004242*260115*1200*${code}*${note}`),
    ).toBe(true);
  });

  it('notes a duplicate interchange as accepted with errors (025)', async () => {
    expect(ta1Of(await check(), true)).toEqual({ code: 'E', note: '025' });
  });

  it('cannot acknowledge input without a readable ISA', async () => {
    expect(buildTa1(await checkInterchange([Buffer.from('not x12 at all')]), options)).toBeUndefined();
  });
});

describe('999', () => {
  it('accepts every set and group of a good interchange', async () => {
    const segs = segmentsOf(build999(await check(), options));
    expect(segs.filter((s) => s.startsWith('ST*999'))).toHaveLength(2);
    expect(segs.filter((s) => s.startsWith('AK1'))).toEqual([
      'AK1*HC*42421*005010X222A1',
      'AK1*HP*42422*005010X221A1',
    ]);
    expect(segs.filter((s) => s.startsWith('AK2'))).toEqual([
      'AK2*837*0001*005010X222A1',
      'AK2*837*0002*005010X222A1',
      'AK2*835*0003*005010X221A1',
    ]);
    expect(segs.filter((s) => s.startsWith('IK5'))).toEqual(['IK5*A', 'IK5*A', 'IK5*A']);
    expect(segs.filter((s) => s.startsWith('AK9'))).toEqual(['AK9*A*2*2*2', 'AK9*A*1*1*1']);
  });

  it('has SE counts that match the segments of each 999 set', async () => {
    const segs = segmentsOf(build999(await check(), options));
    let count = 0;
    for (const s of segs) {
      if (s.startsWith('ST*')) count = 0;
      count += 1;
      if (s.startsWith('SE*')) expect(Number(s.split('*')[1])).toBe(count);
    }
  });

  it('rejects the set and its file for a wrong SE count, with the IK5 code and the SE position', async () => {
    const segs = segmentsOf(build999(await check({ fault: 'se-count' }), options));
    expect(segs.filter((s) => s.startsWith('IK5'))).toEqual(['IK5*R*4']);
    expect(segs.find((s) => s.startsWith('IK3'))).toMatch(/^IK3\*SE\*\d+\*\*8$/);
    expect(segs.filter((s) => s.startsWith('AK9'))).toEqual(['AK9*R*1*1*0']);
  });

  it('rejects a group whose GE count is wrong (AK905 5) and reports its sets rejected', async () => {
    const segs = segmentsOf(build999(await check({ fault: 'ge-count' }), options));
    expect(segs.filter((s) => s.startsWith('AK9'))).toEqual(['AK9*R*2*2*0*5']);
    expect(segs.filter((s) => s.startsWith('IK5'))).toEqual(['IK5*R', 'IK5*R']);
  });

  it('says accepted with errors and partially accepted from per-set notes', async () => {
    const c = await check();
    const notes = new Map([
      [
        0,
        {
          code: 'E' as const,
          notes: [
            { segment: 'CLM', position: 18, loop: '2300', code: '8', element: { position: 2, code: '6' } },
          ],
        },
      ],
      [1, { code: 'R' as const, notes: [{ segment: 'ZZZ', position: 19, loop: '2300', code: '2' }] }],
    ]);
    const segs = segmentsOf(build999(c, options, notes));
    expect(segs).toContain('IK3*CLM*18*2300*8');
    expect(segs).toContain('IK4*2**6');
    expect(segs.filter((s) => s.startsWith('IK5'))).toEqual(['IK5*E*5', 'IK5*R*5', 'IK5*A']);
    expect(segs.filter((s) => s.startsWith('AK9'))).toEqual(['AK9*P*2*2*1', 'AK9*A*1*1*1']);
  });

  it('carries no element value of the acknowledged file', async () => {
    const file = syntheticInterchange({ ...base, fault: 'se-count' });
    const ack = build999(await checkInterchange([file.bytes]), options) ?? '';
    for (const set of file.sets)
      for (const claim of set.claims) {
        expect(ack).not.toContain(claim.claimId);
        expect(ack).not.toContain(claim.memberId);
      }
  });
});
