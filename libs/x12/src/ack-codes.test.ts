/**
 * The codes our TA1 and 999 carry, checked against the X12 code lists (005010): TA104 and TA105
 * (elements I17, I18), IK501/AK901 (717/715), IK502 (718), AK905 (716), IK304 (620). Each fault the
 * simulator can put in a file is answered with the code the standard defines for it.
 */
import { syntheticInterchange, type FileFault } from '@ehrflow/x12-sim';
import { describe, expect, it } from 'vitest';
import { AK9_CODE, IK5_CODE, TA1_NOTE, build999, buildTa1 } from './ack.ts';
import { checkInterchange } from './envelope.ts';
import { tokenize } from './tokenizer.ts';

/** I18 Interchange Note Code: the codes we send and their meaning in the standard. */
const I18: Readonly<Record<string, string>> = {
  '000': 'No error',
  '001': 'The Interchange Control Number in the Header and Trailer Do Not Match',
  '021': 'Invalid Number of Included Groups Value',
  '022': 'Invalid Control Structure',
  '023': 'Improper (Premature) End-of-File (Transmission)',
  '024': 'Invalid Interchange Content (e.g., Invalid GS Segment)',
  '025': 'Duplicate Interchange Control Number',
};
/** 718 Transaction Set Syntax Error Code (IK502). */
const CODE_718: Readonly<Record<string, string>> = {
  '2': 'Transaction Set Trailer Missing',
  '3': 'Transaction Set Control Number in Header and Trailer Do Not Match',
  '4': 'Number of Included Segments Does Not Match Actual Count',
  '5': 'One or More Segments in Error',
  '23': 'Transaction Set Control Number Not Unique within the Functional Group',
};
/** 716 Functional Group Syntax Error Code (AK905). */
const CODE_716: Readonly<Record<string, string>> = {
  '3': 'Functional Group Trailer Missing',
  '4': 'Group Control Number in the Functional Group Header and Trailer Do Not Agree',
  '5': 'Number of Included Transaction Sets Does Not Match Actual Count',
};

const options = {
  party: { qualifier: 'ZZ', id: 'EHRFLOW', applicationCode: 'EHRFLOW' },
  controlNumber: 5,
  now: new Date('2026-02-03T04:05:00Z'),
};
const segments = (text: string | undefined): string[] =>
  tokenize(Buffer.from(text ?? '', 'latin1')).segments.map((s) => s.elements.join('*'));

describe('acknowledgment code values', () => {
  it('every TA105 note we send is an I18 code with the meaning we use it for', () => {
    expect(Object.values(TA1_NOTE).sort()).toEqual(Object.keys(I18).sort());
    expect(TA1_NOTE).toEqual({
      none: '000',
      controlMismatch: '001',
      groupCountInvalid: '021',
      invalidControlStructure: '022',
      prematureEnd: '023',
      invalidContent: '024',
      duplicate: '025',
    });
  });

  it('every IK502 and AK905 code we send is in code lists 718 and 716', () => {
    expect(IK5_CODE).toEqual({
      trailerMissing: '2',
      controlMismatch: '3',
      segmentCountMismatch: '4',
      segmentsInError: '5',
      controlNotUnique: '23',
    });
    for (const code of Object.values(IK5_CODE)) expect(CODE_718[code]).toBeDefined();
    expect(AK9_CODE).toEqual({ trailerMissing: '3', controlMismatch: '4', setCountMismatch: '5' });
    for (const code of Object.values(AK9_CODE)) expect(CODE_716[code]).toBeDefined();
  });

  // TA104: A accepted, E accepted with errors, R rejected. IK501: A, E, R. AK901: A, E, P, R.
  // IK304 (620): 7 segment not in proper sequence, 8 segment has data element errors.
  it.each<[FileFault, string, RegExp[]]>([
    ['none', 'A*000', [/^IK5\*A$/, /^AK9\*A\*3\*3\*3$/]],
    ['cut', 'R*023', [/^IK5\*R$/, /^AK9\*R\*/]],
    ['iea-count', 'R*021', [/^IK5\*R$/, /^AK9\*R\*3\*3\*0$/]],
    ['ge-count', 'A*000', [/^AK9\*R\*3\*3\*0\*5$/]],
    // The check stops at the first problem: the 999 speaks of the sets read up to it.
    ['se-count', 'A*000', [/^IK3\*SE\*\d+\*\*8$/, /^IK5\*R\*4$/, /^AK9\*R\*1\*1\*0$/]],
    ['se-control', 'A*000', [/^IK3\*SE\*\d+\*\*8$/, /^IK5\*R\*3$/]],
  ])('a file with fault %s: TA1 %s and the 999 codes of the standard', async (fault, ta1, in999) => {
    const bytes = syntheticInterchange({
      seed: 3,
      controlNumber: 31,
      groups: [{ kind: '837P', sets: 3 }],
      fault,
    }).bytes;
    const check = await checkInterchange([bytes]);
    expect(
      segments(buildTa1(check, options))
        .find((s) => s.startsWith('TA1'))
        ?.slice(-5),
    ).toBe(ta1);
    const ack = segments(build999(check, options));
    for (const pattern of in999) expect(ack.some((s) => pattern.test(s))).toBe(true);
    // Codes only: 999 segments carry no element value of the file (IK4-04 is never sent).
    expect(ack.some((s) => s.startsWith('IK4') && s.split('*').length > 4)).toBe(false);
  });
});
