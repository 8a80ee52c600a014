import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createKeyring, createRecordCipher, encryptField, encryptPayload, sealFields } from '@ehrflow/phi';
import { createCanaryMatcher } from '@ehrflow/testing';
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

  it('checks v2 fields (per-record data key) like v1: no canary in text or bytes, wrong key refused', () => {
    const cipher = createRecordCipher(ring, 'r2');
    const value = {
      recordId: 'r2',
      family: cipher.encrypt(CANARY),
      ssn: cipher.encrypt('SSN 900-47-1234'),
      old: encryptField(ring, CANARY),
    };
    expect(value.family.startsWith('enc:v2:')).toBe(true);
    const blind = createValueScanner(matcher).scan(value, ['r2']);
    expect(blind.hits).toEqual([]);
    expect(blind.encryptedChecked).toBe(3);
    expect(blind.protectedMatches).toBe(0);
    // With the pipeline key the canaries are found inside: they travelled, encrypted.
    const control = createValueScanner(matcher, ring).scan(value, ['r2']);
    expect(control.hits).toEqual([]);
    expect(control.protectedMatches).toBe(3);
  });

  it('checks sealed v3 records: the block is opened whole, references carry nothing', () => {
    const sealed = Object.fromEntries(
      sealFields(ring, [
        ['family', CANARY],
        ['given', [CANARY, 'Ann']],
      ]),
    );
    const value = { recordId: 'r3', ...sealed };
    const blind = createValueScanner(matcher).scan(value);
    expect(blind.hits).toEqual([]);
    expect(blind.encryptedChecked).toBe(3);
    expect(blind.protectedMatches).toBe(0);
    const control = createValueScanner(matcher, ring).scan(value);
    expect(control.hits).toEqual([]);
    expect(control.protectedMatches).toBe(2);
  });

  it('does not count a v2 field it cannot open with the right AAD, and a wrong ring never opens it', () => {
    const value = { family: createRecordCipher(ring, 'r3').encrypt(CANARY) };
    expect(createValueScanner(matcher, ring).scan(value, ['other']).protectedMatches).toBe(0);
    const otherBytesSameKid = createKeyring([['k1', randomBytes(32)]]);
    expect(createValueScanner(matcher, otherBytesSameKid).scan(value, ['r3']).protectedMatches).toBe(0);
  });

  it('reports a canary readable in the text or bytes of something shaped like an encrypted field', () => {
    const inText = `enc:v2:${CANARY}`;
    const inBytes = `enc:v2:${Buffer.from(`\u0002\u0002k1${CANARY}`).toString('base64url')}`;
    const v1InBytes = `enc:v1:${Buffer.from(`xx${CANARY}`).toString('base64url')}`;
    const result = createValueScanner(matcher, ring).scan({ a: inText, b: inBytes, c: v1InBytes });
    expect(result.hits).toEqual([
      { path: 'a', canary: 0, count: 1, kind: 'ciphertext' },
      { path: 'b', canary: 0, count: 1, kind: 'ciphertext' },
      { path: 'c', canary: 0, count: 1, kind: 'ciphertext' },
    ]);
    expect(result.encryptedChecked).toBe(3);
  });
});
