import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DATA_KEY_MAX_AGE_MS, DATA_KEY_MAX_USES, leaseDataKey } from './data-key-lease.ts';
import { decryptPayload, encryptPayload, payloadKeyCacheStats } from './envelope.ts';
import { createKeyring } from './keyring.ts';
import { openSealedFields, sealFields, sealedKeyCacheStats } from './sealed-fields.ts';

const keyA = randomBytes(32);
const ringA = createKeyring([['a', keyA]]);
const ringAB = createKeyring([
  ['a', keyA],
  ['b', randomBytes(32)],
]);
/** Version, kid length, kid "a", wrap IV, wrapped DEK, wrap tag. */
const KEY_BLOCK = 3 + 12 + 32 + 16;
const keyBlockOf = (envelope: Buffer): string => envelope.subarray(0, KEY_BLOCK).toString('hex');
const VERSION = 0x7f; // a version of this test's own, so no other lease interferes

describe('data key lease', () => {
  it('wraps one DEK for a run of uses, then a fresh one after the last use', () => {
    const t = 1_000_000;
    const first = leaseDataKey(ringA, VERSION, t);
    for (let i = 1; i < DATA_KEY_MAX_USES; i++) expect(leaseDataKey(ringA, VERSION, t)).toBe(first);
    const next = leaseDataKey(ringA, VERSION, t);
    expect(next).not.toBe(first);
    expect(next.keyBlock.equals(first.keyBlock)).toBe(false);
    expect(next.keyBlock[0]).toBe(VERSION);
  });

  it('draws a fresh DEK when the run is too old, and at once when the active key changes', () => {
    const t = 2_000_000;
    const first = leaseDataKey(ringA, VERSION, t);
    expect(leaseDataKey(ringA, VERSION, t + DATA_KEY_MAX_AGE_MS - 1)).toBe(first);
    const aged = leaseDataKey(ringA, VERSION, t + DATA_KEY_MAX_AGE_MS);
    expect(aged).not.toBe(first);
    // Rotation: ringAB's active kid is "b".
    const rotated = leaseDataKey(ringAB, VERSION, t + DATA_KEY_MAX_AGE_MS);
    expect(rotated).not.toBe(aged);
    expect(rotated.keyBlock.toString('latin1', 2, 3)).toBe('b');
    // Other key bytes under the same kid: another KEK object, another DEK.
    const impostor = createKeyring([['a', randomBytes(32)]]);
    expect(leaseDataKey(impostor, VERSION, t + DATA_KEY_MAX_AGE_MS)).not.toBe(
      leaseDataKey(ringA, VERSION, t + DATA_KEY_MAX_AGE_MS),
    );
  });
});

describe('payload envelopes and sealed blocks under a leased DEK', () => {
  it('share the wrapped DEK between payloads, with a fresh IV each, and readers unwrap it once', () => {
    const plaintext = Buffer.from('{"resourceType":"Patient","id":"p1"}');
    const envelopes = Array.from({ length: 5 }, () => encryptPayload(ringA, plaintext));
    const blocks = new Set(envelopes.map(keyBlockOf));
    // A run may end between two of them (its 1,024th use): at most two key blocks.
    expect(blocks.size).toBeLessThanOrEqual(2);
    const ivs = new Set(envelopes.map((e) => e.subarray(KEY_BLOCK, KEY_BLOCK + 12).toString('hex')));
    expect(ivs.size).toBe(envelopes.length);

    const before = payloadKeyCacheStats();
    for (const e of envelopes) expect(decryptPayload(ringA, e)).toEqual(plaintext);
    const after = payloadKeyCacheStats();
    expect(after.misses - before.misses).toBeLessThanOrEqual(blocks.size);
    expect(after.hits - before.hits).toBeGreaterThanOrEqual(envelopes.length - blocks.size);
  });

  it('refuses an envelope whose cached key block was tampered with, or opened under another key', () => {
    const envelope = encryptPayload(ringA, Buffer.from('x'));
    decryptPayload(ringA, envelope); // the DEK is now cached
    const tampered = Buffer.from(envelope);
    tampered[KEY_BLOCK - 1] = (tampered[KEY_BLOCK - 1] ?? 0) ^ 0x01; // the wrap tag
    expect(() => decryptPayload(ringA, tampered)).toThrow(/authentication/);
    const impostor = createKeyring([['a', randomBytes(32)]]);
    expect(() => decryptPayload(impostor, envelope)).toThrow(/authentication/);
  });

  it('opens sealed records that share a DEK with one unwrap between them', () => {
    const records = Array.from({ length: 4 }, (_, i) =>
      Object.fromEntries(sealFields(ringA, [['nameFamily', `Family${i}`]])),
    );
    const before = sealedKeyCacheStats();
    records.forEach((r, i) => expect(openSealedFields(ringA, r)?.get('nameFamily')).toBe(`Family${i}`));
    const after = sealedKeyCacheStats();
    expect(after.hits - before.hits).toBeGreaterThanOrEqual(records.length - 2);
  });
});
