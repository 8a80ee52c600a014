import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createKeyring, encryptField, encryptPayload } from '@ehrflow/phi';
import { createCanaryMatcher } from './canary.ts';
import { createValueScanner, looksLikeEnvelope } from './scan-value.ts';

const CANARY = 'Quillonbeck';
const ring = createKeyring([['k1', randomBytes(32)]]);
const matcher = createCanaryMatcher([CANARY, '900-47-1234']);

describe('createValueScanner', () => {
  it('reports a clear canary at its field path', () => {
    const result = createValueScanner(matcher).scan({ name: [{ family: `Mr ${CANARY}` }], ok: 'fine' });
    expect(result.hits).toEqual([{ path: 'name[0].family', canary: 0, count: 1, kind: 'clear' }]);
  });

  it('finds a canary in a number (a drifted date or id)', () => {
    const result = createValueScanner(matcher).scan({ ssnAsNumber: 900471234 });
    expect(result.hits).toEqual([{ path: 'ssnAsNumber', canary: 1, count: 1, kind: 'clear' }]);
  });

  it('accepts an encrypted field holding a canary and checks it against a wrong key', () => {
    const value = { recordId: 'r1', family: encryptField(ring, CANARY, 'r1') };
    const result = createValueScanner(matcher).scan(value, ['r1']);
    expect(result.hits).toEqual([]);
    expect(result.encryptedChecked).toBe(1);
  });

  it('counts canaries inside encrypted values when given the pipeline key (positive control)', () => {
    const value = {
      family: encryptField(ring, CANARY, 'r1'),
      payload: encryptPayload(ring, Buffer.from(`{"n":"${CANARY}"}`)),
    };
    const result = createValueScanner(matcher, ring).scan(value, ['r1']);
    expect(result.hits).toEqual([]);
    expect(result.encryptedChecked).toBe(2);
    expect(result.protectedMatches).toBe(2);
  });

  it('reports clear bytes that are not an envelope', () => {
    const result = createValueScanner(matcher).scan({ payload: Buffer.from(`{"family":"${CANARY}"}`) });
    expect(result.hits).toEqual([{ path: 'payload', canary: 0, count: 1, kind: 'clear' }]);
  });

  it('reports a canary used as a field name without printing the name', () => {
    const result = createValueScanner(matcher).scan({ extra: { [CANARY]: 'x' } });
    expect(result.hits).toEqual([{ path: 'extra.<field name>', canary: 0, count: 1, kind: 'clear' }]);
    expect(JSON.stringify(result)).not.toContain(CANARY);
  });

  it('tells envelopes from other bytes', () => {
    expect(looksLikeEnvelope(encryptPayload(ring, Buffer.from('x')))).toBe(true);
    expect(looksLikeEnvelope(Buffer.from('{"a":1}'))).toBe(false);
  });
});
