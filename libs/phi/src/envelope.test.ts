import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PipelineError } from '@ehrflow/errors';
import { decryptPayload, encryptPayload, keyIdOf } from './envelope.ts';
import { createKeyring, type Keyring } from './keyring.ts';

const keyA = randomBytes(32);
const keyB = randomBytes(32);
const ringA = createKeyring([['a', keyA]]);
const ringAB = createKeyring([
  ['a', keyA],
  ['b', keyB],
]);
const ringB = createKeyring([['b', keyB]]);
const plaintext = Buffer.from('{"resourceType":"Patient","name":[{"family":"Canary"}]}');

function decryptCode(ring: Keyring, envelope: Buffer, aad?: Buffer): { code: string; message: string } {
  try {
    decryptPayload(ring, envelope, aad);
  } catch (err) {
    expect(err).toBeInstanceOf(PipelineError);
    const { code, message } = err as PipelineError;
    return { code, message };
  }
  throw new Error('expected decryption to fail');
}

describe('envelope encryption', () => {
  it('round-trips, with and without AAD, including an empty payload', () => {
    expect(decryptPayload(ringA, encryptPayload(ringA, plaintext))).toEqual(plaintext);
    const aad = Buffer.from('record-1');
    expect(decryptPayload(ringA, encryptPayload(ringA, plaintext, aad), aad)).toEqual(plaintext);
    expect(decryptPayload(ringA, encryptPayload(ringA, Buffer.alloc(0)))).toEqual(Buffer.alloc(0));
  });

  it('uses a fresh IV for every message (the data key is leased for a run, data-key-lease.test.ts)', () => {
    const one = encryptPayload(ringA, plaintext);
    const two = encryptPayload(ringA, plaintext);
    expect(one.equals(two)).toBe(false);
    expect(one.length).toBe(two.length);
    expect(one.includes(plaintext)).toBe(false);
  });

  it('has a versioned layout carrying the kid', () => {
    const envelope = encryptPayload(ringAB, plaintext);
    expect(envelope[0]).toBe(1);
    expect(keyIdOf(envelope)).toBe('b');
    // version + kid length + kid + wrap IV + wrapped DEK + wrap tag + data IV + data tag + ciphertext
    expect(envelope.length).toBe(1 + 1 + 1 + 12 + 32 + 16 + 12 + 16 + plaintext.length);
  });

  it('supports rotation: old kid still decrypts, new writes use the new kid, a ring without the old kid fails', () => {
    const old = encryptPayload(ringA, plaintext);
    expect(keyIdOf(old)).toBe('a');
    const fresh = encryptPayload(ringAB, plaintext);
    expect(keyIdOf(fresh)).toBe('b');
    expect(decryptPayload(ringAB, old)).toEqual(plaintext);
    expect(decryptPayload(ringB, fresh)).toEqual(plaintext);
    const failure = decryptCode(ringB, old);
    expect(failure.code).toBe('DECRYPT_FAILED');
    expect(failure.message).toMatch(/not in the keyring/);
  });

  it('detects tampering anywhere in the envelope', () => {
    const envelope = encryptPayload(ringA, plaintext);
    // Every byte after the header (version, kid length, kid): wrap IV, wrapped DEK, tags, ciphertext.
    for (let i = 3; i < envelope.length; i += 1) {
      const tampered = Buffer.from(envelope);
      tampered[i] = (tampered[i] ?? 0) ^ 0x01;
      expect(decryptCode(ringA, tampered).code, `byte ${i}`).toBe('DECRYPT_FAILED');
    }
  });

  it('detects a wrong or missing AAD and a key swapped under the same kid', () => {
    const envelope = encryptPayload(ringA, plaintext, Buffer.from('record-1'));
    expect(decryptCode(ringA, envelope, Buffer.from('record-2')).code).toBe('DECRYPT_FAILED');
    expect(decryptCode(ringA, envelope).code).toBe('DECRYPT_FAILED');
    const impostor = createKeyring([['a', randomBytes(32)]]);
    expect(decryptCode(impostor, envelope, Buffer.from('record-1')).code).toBe('DECRYPT_FAILED');
  });

  it('rejects malformed envelopes without echoing their content', () => {
    const envelope = encryptPayload(ringA, plaintext);
    const cases: Buffer[] = [
      Buffer.alloc(0),
      envelope.subarray(0, 40),
      Buffer.concat([Buffer.from([2]), envelope.subarray(1)]),
      Buffer.concat([Buffer.from([1, 0]), envelope.subarray(2)]),
      Buffer.concat([Buffer.from([1, 1, 0x20]), envelope.subarray(3)]),
    ];
    for (const bad of cases) {
      const failure = decryptCode(ringA, bad);
      expect(failure.code).toBe('DECRYPT_FAILED');
      expect(failure.message).not.toContain('Canary');
    }
    expect(() => keyIdOf(Buffer.from([1]))).toThrow(/truncated/);
  });
});
