import { ODD_DELIMITERS, syntheticInterchange, type InterchangeOptions } from '@ehrflow/x12-sim';
import { describe, expect, it } from 'vitest';
import { X12EnvelopeChecker, checkInterchange } from './envelope.ts';

const base: InterchangeOptions = {
  seed: 7,
  controlNumber: 1001,
  groups: [
    { kind: '837P', sets: 3, claimsPerSet: 2 },
    { kind: '835', sets: 2 },
  ],
};

/** Feeds the bytes in chunks of `size` (a stream read). */
function checkChunked(bytes: Buffer, size: number) {
  const checker = new X12EnvelopeChecker();
  for (let i = 0; i < bytes.length; i += size) checker.push(bytes.subarray(i, i + size));
  return checker.finish();
}

describe('X12EnvelopeChecker', () => {
  it('accepts a well-formed interchange and finds every transaction set with its byte range', async () => {
    const file = syntheticInterchange(base);
    const check = await checkInterchange([file.bytes]);
    expect(check.problem).toBeUndefined();
    expect(check.header?.controlNumber).toBe('000001001');
    expect(check.header?.senderId).toBe('SIMCLEARING');
    expect(check.groups.map((g) => g.sets.length)).toEqual([3, 2]);
    expect(check.sets.map((s) => s.controlNumber)).toEqual(file.sets.map((s) => s.controlNumber));
    for (const set of check.sets) {
      const text = file.bytes.toString('latin1', set.start, set.end);
      expect(text.startsWith(`ST*${set.type}*${set.controlNumber}`)).toBe(true);
      expect(text.trimEnd().endsWith(`*${set.controlNumber}~`)).toBe(true);
    }
  });

  it('gives the same result whatever the chunk size (a segment split across reads)', () => {
    const file = syntheticInterchange(base);
    const whole = checkChunked(file.bytes, file.bytes.length);
    for (const size of [1, 7, 105, 106, 107, 4096]) {
      const chunked = checkChunked(file.bytes, size);
      expect(chunked.problem).toBeUndefined();
      expect(chunked.sets).toEqual(whole.sets);
    }
  });

  it('reads odd delimiters from the ISA (pipes, a newline terminator) and CRLF line breaks', () => {
    const odd = syntheticInterchange({ ...base, delimiters: ODD_DELIMITERS });
    const oddCheck = checkChunked(odd.bytes, 33);
    expect(oddCheck.problem).toBeUndefined();
    expect(oddCheck.delimiters).toEqual({ element: '|', component: '>', repetition: '!', segment: '\n' });
    expect(oddCheck.sets).toHaveLength(5);
    const crlf = checkChunked(syntheticInterchange({ ...base, lineBreak: '\r\n' }).bytes, 50);
    expect(crlf.problem).toBeUndefined();
    expect(crlf.sets).toHaveLength(5);
  });

  it.each([
    ['se-count', 'segment_count_mismatch', 'set'],
    ['se-control', 'set_control_mismatch', 'set'],
    ['ge-count', 'set_count_mismatch', 'group'],
    ['iea-count', 'group_count_mismatch', 'interchange'],
  ] as const)('refuses a file with fault %s as %s', (fault, kind, level) => {
    const check = checkChunked(syntheticInterchange({ ...base, fault }).bytes, 512);
    expect(check.problem?.kind).toBe(kind);
    expect(check.problem?.level).toBe(level);
  });

  it('reports declared and found counts (numbers only) for a count mismatch', () => {
    const check = checkChunked(syntheticInterchange({ ...base, fault: 'ge-count' }).bytes, 512);
    expect(check.problem).toMatchObject({ declared: 4, found: 3, segment: 'GE', groupIndex: 0 });
  });

  it('refuses a cut file: inside a segment as unterminated, between segments as trailer missing', () => {
    const cutMid = checkChunked(syntheticInterchange({ ...base, fault: 'cut', cutAt: 0.5 }).bytes, 512);
    expect(['segment_unterminated', 'interchange_trailer_missing']).toContain(cutMid.problem?.kind);
    const whole = syntheticInterchange(base).bytes;
    const atBoundary = whole.subarray(0, whole.indexOf('GE*'));
    expect(checkChunked(atBoundary, 512).problem).toMatchObject({
      kind: 'interchange_trailer_missing',
      level: 'interchange',
    });

    const bytes = syntheticInterchange(base).bytes;
    const cut = bytes.subarray(0, bytes.indexOf('CLM*') + 6);
    expect(checkChunked(cut, 64).problem?.kind).toBe('segment_unterminated');
  });

  it('refuses input that does not start with an ISA, or an ISA with separators out of place', () => {
    expect(checkChunked(Buffer.from('MSH|^~\\&|'.repeat(20)), 64).problem?.kind).toBe('not_isa');
    const bytes = Buffer.from(syntheticInterchange(base).bytes);
    bytes[50] = 0x41; // the separator after ISA06 becomes a letter
    expect(checkChunked(bytes, 64).problem?.kind).toBe('isa_layout');
    expect(checkChunked(Buffer.alloc(0), 64).problem?.kind).toBe('not_isa');
  });

  it('refuses a duplicate ST02 within a group and a segment outside any set', () => {
    const text = syntheticInterchange(base).bytes.toString('latin1');
    const dup = text.replace('ST*837*0002*', 'ST*837*0001*').replace(/SE\*(\d+)\*0002~/, 'SE*$1*0001~');
    expect(checkChunked(Buffer.from(dup, 'latin1'), 100).problem?.kind).toBe('set_control_duplicate');
    const stray = text.replace('GE*3*', 'NM1*XX~\nGE*3*');
    expect(checkChunked(Buffer.from(stray, 'latin1'), 100).problem?.kind).toBe('segment_outside_set');
  });

  it('stops at a segment longer than the limit instead of buffering it', () => {
    const text = syntheticInterchange(base)
      .bytes.toString('latin1')
      .replace('BHT*', `BHT*${'X'.repeat(5000)}*`);
    const checker = new X12EnvelopeChecker({ maxSegmentBytes: 1024 });
    checker.push(Buffer.from(text, 'latin1'));
    expect(checker.finish().problem?.kind).toBe('segment_too_long');
  });

  it('never carries an element value in a problem', () => {
    const check = checkChunked(syntheticInterchange({ ...base, fault: 'se-control' }).bytes, 512);
    expect(JSON.stringify(check.problem)).not.toMatch(/SIM[A-Z]/);
  });
});

describe('X12EnvelopeChecker with large reads', () => {
  it('reads a file larger than the segment limit in one chunk (only the ISA is held before delimiters are known)', () => {
    const file = syntheticInterchange({ seed: 1, controlNumber: 5, groups: [{ kind: '837P', sets: 300 }] });
    expect(file.bytes.length).toBeGreaterThan(64 * 1024);
    const checker = new X12EnvelopeChecker({ maxSegmentBytes: 1024 });
    checker.push(file.bytes);
    const check = checker.finish();
    expect(check.problem).toBeUndefined();
    expect(check.sets).toHaveLength(300);
  });
});
