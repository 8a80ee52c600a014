import { SOURCE_PARTS_HEADER, SOURCE_RECORD_HEADER } from '@ehrflow/contracts';
import { describe, expect, it } from 'vitest';
import { countMessages, emptyMessageScan, notePart } from './reconcile-messages.ts';

const part = (message: string, parts: number) => ({
  [SOURCE_RECORD_HEADER]: message,
  [SOURCE_PARTS_HEADER]: String(parts),
});

describe('reconciliation in messages', () => {
  it('counts a message valid only when all its parts are, quarantined when any part is, and clean/loaded per message', () => {
    const scan = emptyMessageScan();
    // m1: 3 parts, all valid, clean and loaded. m2: 2 parts, one valid and one refused (quarantined).
    // m3: whole message quarantined. m4: 2 parts, both valid, one not clean yet. m5: 3 parts, 2 valid (in flight).
    for (const id of ['a', 'b', 'c']) notePart(scan, `m1-${id}`, part('m1', 3));
    notePart(scan, 'm2-a', part('m2', 2));
    for (const id of ['a', 'b']) notePart(scan, `m4-${id}`, part('m4', 2));
    for (const id of ['a', 'b']) notePart(scan, `m5-${id}`, part('m5', 3));
    // A valid record without the headers (a FHIR resource) is a message of its own.
    notePart(scan, 'f1', {});
    const valid = new Set([...scan.partOf.keys(), 'f1']);
    const counts = countMessages({
      raw: new Set(['m1', 'm2', 'm3', 'm4', 'm5', 'f1']),
      valid,
      quarantined: new Set(['m2', 'm3']),
      clean: new Set(['m1-a', 'm1-b', 'm1-c', 'm2-a', 'm4-a', 'f1']),
      loaded: new Set(['m1-a', 'm1-b', 'm1-c', 'm2-a', 'f1']),
      scan,
    });
    expect(counts).toEqual({ raw: 6, valid: 3, quarantined: 2, incomplete: 1, clean: 2, loaded: 2 });
  });

  it('a message quarantined and replayed whole counts as valid only; a bad parts header makes a record its own message', () => {
    const scan = emptyMessageScan();
    for (const id of ['a', 'b']) notePart(scan, `m1-${id}`, part('m1', 2));
    notePart(scan, 'odd', { [SOURCE_RECORD_HEADER]: 'm9', [SOURCE_PARTS_HEADER]: 'two' });
    expect(scan.partOf.has('odd')).toBe(false);
    const counts = countMessages({
      raw: new Set(['m1']),
      valid: new Set(['m1-a', 'm1-b']),
      quarantined: new Set(['m1']),
      clean: new Set(['m1-a', 'm1-b']),
      loaded: new Set(['m1-a', 'm1-b']),
      scan,
    });
    expect(counts).toMatchObject({ valid: 1, quarantined: 0, clean: 1, loaded: 1 });
  });
});
