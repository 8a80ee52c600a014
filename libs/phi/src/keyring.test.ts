import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PipelineError } from '@ehrflow/errors';
import { createKeyring, parseKeyring } from './keyring.ts';

const keyA = randomBytes(32).toString('base64');
const keyB = randomBytes(32).toString('base64');

function caught(fn: () => unknown): PipelineError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PipelineError);
    return err as PipelineError;
  }
  throw new Error('expected a throw');
}

describe('parseKeyring', () => {
  it('makes the last entry active and keeps every kid for decryption', () => {
    const ring = parseKeyring(` k1:${keyA} , k2:${keyB} `);
    expect(ring.activeKid).toBe('k2');
    expect(ring.kids).toEqual(['k1', 'k2']);
    expect(ring.keyOf('k1')?.export().toString('base64')).toBe(keyA);
    expect(ring.keyOf('k2')?.symmetricKeySize).toBe(32);
    expect(ring.keyOf('k3')).toBeUndefined();
  });

  it('never shows key material when serialized or inspected', () => {
    const ring = parseKeyring(`k1:${keyA},k2:${keyB}`);
    const shown = JSON.stringify(ring) + inspect(ring, { depth: 10, showHidden: true });
    expect(shown).toContain('k2');
    for (const key of [keyA, keyB]) {
      expect(shown).not.toContain(key);
      expect(shown).not.toContain(Buffer.from(key, 'base64').toString('hex'));
    }
    expect(Object.isFrozen(ring)).toBe(true);
  });

  it.each([
    ['', /empty/, undefined],
    ['   ', /empty/, undefined],
    [keyA, /entry #1 has no "kid:" prefix/, undefined],
    [`k1:${keyA},`, /entry #2 is empty/, undefined],
    [`bad kid!:${keyA}`, /entry #1 has an invalid key id/, undefined],
    [`k1:${keyA},k1:${keyB}`, /entry #2 repeats key id "k1"/, 'k1'],
    [`k1:not-base64!`, /key "k1" is not valid base64/, 'k1'],
    [`k1:${randomBytes(16).toString('base64')}`, /key "k1" must be 32 bytes, got 16/, 'k1'],
  ])('rejects %j with KEY_MISSING naming the entry', (spec, message, kid) => {
    const err = caught(() => parseKeyring(spec));
    expect(err.code).toBe('KEY_MISSING');
    expect(err.message).toMatch(message);
    if (kid !== undefined) expect(err.context.kid).toBe(kid);
    // The message must never quote key material.
    for (const key of [keyA, keyB]) expect(err.message + JSON.stringify(err.context)).not.toContain(key);
  });

  it('has no default key', () => {
    expect(caught(() => parseKeyring(undefined)).code).toBe('KEY_MISSING');
    expect(caught(() => createKeyring([])).code).toBe('KEY_MISSING');
  });

  it('copies keys so the caller cannot change the ring afterwards', () => {
    const bytes = randomBytes(32);
    const original = Buffer.from(bytes);
    const ring = createKeyring([['k1', bytes]]);
    bytes.fill(0);
    expect(ring.keyOf('k1')?.export().equals(original)).toBe(true);
  });
});
