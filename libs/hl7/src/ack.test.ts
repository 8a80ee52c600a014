import { describe, expect, it } from 'vitest';
import { ackCodeOf, buildAck, commitAckWanted, isEnhancedMode } from './ack.ts';
import { parseHl7 } from './message.ts';

const MSG =
  'MSH|^~\\&|LAB|NORTH|EHRFLOW|EHRFLOW|20261205||ORU^R01^ORU_R01|C-42|P|2.5.1\rPID|1||MRN777^^^H^MR||Canary^Zed||19700101\r';

describe('acknowledgments', () => {
  it('original mode: AA/AE/AR; enhanced mode: CA/CE/CR', () => {
    expect(['accepted', 'content-error', 'transient'].map((o) => ackCodeOf(o as never, false))).toEqual([
      'AA',
      'AE',
      'AR',
    ]);
    expect(['accepted', 'content-error', 'transient'].map((o) => ackCodeOf(o as never, true))).toEqual([
      'CA',
      'CE',
      'CR',
    ]);
  });

  it('MSH-15 decides whether a commit ACK is sent', () => {
    const h = (acceptAck: string) => ({ ...parseHl7(MSG).header, acceptAck, applicationAck: 'NE' }) as never;
    expect(isEnhancedMode(h('AL'))).toBe(true);
    expect(commitAckWanted(h('AL'), 'CA')).toBe(true);
    expect(commitAckWanted(h('NE'), 'CA')).toBe(false);
    expect(commitAckWanted(h('ER'), 'CA')).toBe(false);
    expect(commitAckWanted(h('ER'), 'CE')).toBe(true);
    expect(commitAckWanted(h('SU'), 'CR')).toBe(false);
    expect(commitAckWanted(parseHl7(MSG).header, 'AA')).toBe(true);
  });

  it('MSA-2 echoes MSH-10, the header is swapped, and ERR carries positions and codes only', () => {
    const view = parseHl7(MSG);
    const text = buildAck({
      header: view.header,
      code: 'AE',
      errors: [{ segment: 'PID', field: 7, code: 102 }],
      application: 'EHRFLOW',
      facility: 'HUB',
      ackControlId: 'A1',
    });
    const ack = parseHl7(text);
    expect(ack.value('MSA', 1)).toBe('AE');
    expect(ack.value('MSA', 2)).toBe('C-42');
    expect(ack.header.sendingApplication).toBe('EHRFLOW');
    expect(ack.header.receivingApplication).toBe('LAB');
    expect(ack.header.messageType).toBe('ACK^R01');
    expect(ack.value('ERR', 2, 1)).toBe('PID');
    expect(ack.value('ERR', 2, 3)).toBe('7');
    expect(ack.value('ERR', 3, 1)).toBe('102');
    expect(text).not.toContain('Canary');
    expect(text).not.toContain('MRN777');
    expect(text).not.toContain('19700101');
  });
});
