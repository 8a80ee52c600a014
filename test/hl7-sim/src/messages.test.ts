import { describe, expect, it } from 'vitest';
import { parseHl7, readBlock } from '@ehrflow/hl7';
import { seededRandom, syntheticBatch, syntheticMessage } from './messages.ts';

describe('synthetic HL7 messages', () => {
  it('the same seed gives the same message; another seed another', () => {
    const a = syntheticMessage(seededRandom(1), { controlId: 'C1' });
    expect(syntheticMessage(seededRandom(1), { controlId: 'C1' })).toBe(a);
    expect(syntheticMessage(seededRandom(2), { controlId: 'C1' })).not.toBe(a);
  });

  it('ADT carries PID, PV1, DG1, AL1; ORU carries OBX; padding reaches the target size', () => {
    const adt = parseHl7(
      syntheticMessage(seededRandom(3), { controlId: 'A', type: 'ADT^A01', targetBytes: 1024 }),
    );
    expect(adt.segmentNames).toEqual(expect.arrayContaining(['MSH', 'PID', 'PV1', 'DG1', 'AL1']));
    expect(adt.text.length).toBeGreaterThanOrEqual(1000);
    expect(adt.value('PID', 7)).toMatch(/^19\d{6}$/);
    const oru = parseHl7(syntheticMessage(seededRandom(3), { controlId: 'B', type: 'ORU^R01' }));
    expect(oru.count('OBX')).toBe(4);
  });

  it('a planted patient replaces the drawn name and record number; a note becomes a free-text OBX', () => {
    const text = syntheticMessage(seededRandom(5), {
      controlId: 'P',
      type: 'ORU^R01',
      patient: { family: 'Zqxfamily', given: 'Zqxgiven', mrn: 'ZQX0001' },
      note: 'Reviewed with Zqxgiven Zqxfamily.',
    });
    const oru = parseHl7(text);
    expect(oru.value('PID', 5)).toBe('Zqxfamily');
    expect(oru.value('PID', 3)).toBe('ZQX0001');
    expect(oru.count('OBX')).toBe(5);
    expect(text).toContain('|ST|11526-1^Pathology study^LN||Reviewed with Zqxgiven Zqxfamily.|');
  });

  it('drift switches move the birth date, add a Z-segment, change MSH-12 or the type of PID-7', () => {
    const r = () => seededRandom(4);
    const moved = parseHl7(syntheticMessage(r(), { controlId: 'D', drift: 'birthdate-moved' }));
    expect([moved.value('PID', 7), moved.value('PID', 8)]).toEqual(['', expect.stringMatching(/^19\d{6}$/)]);
    expect(parseHl7(syntheticMessage(r(), { controlId: 'D', drift: 'z-segment' })).segmentNames).toContain(
      'ZPI',
    );
    expect(parseHl7(syntheticMessage(r(), { controlId: 'D', drift: 'version-change' })).header.version).toBe(
      '2.6',
    );
    expect(parseHl7(syntheticMessage(r(), { controlId: 'D', drift: 'type-change' })).value('PID', 7)).toBe(
      'UNKNOWN',
    );
    expect(
      parseHl7(syntheticMessage(r(), { controlId: 'D', drift: 'encoding-change' })).header.encoding,
    ).toBe('|^~\\#');
  });

  it('a batch states its true count unless told to lie', () => {
    const msgs = [1, 2].map((i) => syntheticMessage(seededRandom(i), { controlId: `M${i}` }));
    expect(readBlock(syntheticBatch(msgs, { batchId: 'B', file: true })).kind).toBe('batch');
    expect(readBlock(syntheticBatch(msgs, { batchId: 'B', declaredCount: 3 }))).toMatchObject({
      kind: 'invalid-batch',
      problem: { declared: 3, found: 2 },
    });
  });
});
