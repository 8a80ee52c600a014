import { describe, expect, it } from 'vitest';
import { hl7RecordId, identityDigest, printableControlId } from './identity.ts';
import { parseHl7 } from './message.ts';

const MSG =
  'MSH|^~\\&|LAB|NORTH|EHRFLOW|EHRFLOW|20261205||ADT^A01^ADT_A01|C-1|P|2.4|||AL|NE\nPID|1||M1~M2^^^H^MR||Doe^Jo||19800101\nZPI|1';

describe('parseHl7', () => {
  it('reads the header, positions and repetitions (LF separators accepted)', () => {
    const view = parseHl7(MSG);
    expect(view.header).toMatchObject({
      sendingApplication: 'LAB',
      sendingFacility: 'NORTH',
      messageType: 'ADT^A01',
      controlId: 'C-1',
      version: '2.4',
      acceptAck: 'AL',
      applicationAck: 'NE',
      encoding: '|^~\\&',
    });
    expect(view.segmentNames).toEqual(['MSH', 'PID', 'ZPI']);
    expect(view.value('PID', 7)).toBe('19800101');
    expect(view.value('PID', 3, 1, 2)).toBe('M2');
    expect(view.repetitions('PID', 3)).toBe(2);
    expect(view.value('PV1', 19)).toBe('');
  });

  it('refuses text without MSH with PARSE_ERROR and no content in the message', () => {
    expect(() => parseHl7('PID|1||SECRET')).toThrow(
      expect.objectContaining({ code: 'PARSE_ERROR', message: expect.not.stringContaining('SECRET') }),
    );
  });
});

describe('identity', () => {
  const h = parseHl7(MSG).header;
  it('record id and digest are stable per (app, facility, MSH-10) and differ otherwise', () => {
    const key = Buffer.alloc(32, 7);
    expect(hl7RecordId('s', h)).toBe(hl7RecordId('s', { ...h }));
    expect(hl7RecordId('s', h)).not.toBe(hl7RecordId('s', { ...h, controlId: 'C-2' }));
    expect(identityDigest(key, 's', h)).not.toContain('C-1');
    expect(identityDigest(key, 's', h)).not.toBe(identityDigest(Buffer.alloc(32, 8), 's', h));
  });

  it('a control id outside the HL7 ST shape is shown as a hash', () => {
    expect(printableControlId('C-1')).toBe('C-1');
    expect(printableControlId('Jane Doe 1970')).toMatch(/^h:[0-9a-f]{12}$/);
  });
});
