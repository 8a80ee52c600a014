import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PipelineError } from '@ehrflow/errors';
import { createDekCache } from './dek-cache.ts';
import { decryptField, encryptField, fieldKeyId, isEncryptedField } from './field.ts';
import { createKeyring, type Keyring } from './keyring.ts';
import { createRecordCipher, decryptFieldV2, fieldKeyCacheStats } from './record-cipher.ts';

const keyOld = randomBytes(32);
const keyNew = randomBytes(32);
const ringOld = createKeyring([['old', keyOld]]);
const ringBoth = createKeyring([
  ['old', keyOld],
  ['new', keyNew],
]);
const ringNew = createKeyring([['new', keyNew]]);
const CANARY = 'Zqxcanary Wplkfamily';

/** The bytes of a v2 field. */
function blobOf(field: string): Buffer {
  return Buffer.from(field.slice('enc:v2:'.length), 'base64url');
}
/** Key block of a three-letter kid ("old", "new"): version, kid length, kid, wrap IV, wrapped DEK, wrap tag. */
const KEY_BLOCK = 2 + 3 + 60;

function failure(fn: () => unknown): PipelineError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PipelineError);
    return err as PipelineError;
  }
  throw new Error('expected a failure');
}

describe('record cipher (enc:v2)', () => {
  it('round-trips unicode, empty and long values, with and without AAD', () => {
    const values = [CANARY, 'Zoë Ångström 🩺', '', 'x'.repeat(5000)];
    const plain = createRecordCipher(ringOld);
    const bound = createRecordCipher(ringOld, 'rec-1');
    for (const value of values) {
      const a = plain.encrypt(value);
      expect(a).toMatch(/^enc:v2:[A-Za-z0-9_-]+$/);
      expect(isEncryptedField(a)).toBe(true);
      expect(decryptField(ringOld, a)).toBe(value);
      expect(decryptField(ringOld, bound.encrypt(value), 'rec-1')).toBe(value);
    }
    expect(plain.encrypt(CANARY)).not.toContain('Zqxcanary');
  });

  it('binds the record AAD', () => {
    const field = createRecordCipher(ringOld, 'rec-1').encrypt(CANARY);
    expect(failure(() => decryptField(ringOld, field, 'rec-2')).code).toBe('DECRYPT_FAILED');
    expect(failure(() => decryptField(ringOld, field)).code).toBe('DECRYPT_FAILED');
  });

  it('shares one wrapped key between the fields of a record, with distinct IVs, and a new key per record', () => {
    const cipher = createRecordCipher(ringOld);
    const [one, two] = [blobOf(cipher.encrypt(CANARY)), blobOf(cipher.encrypt(CANARY))];
    expect(one[0]).toBe(2);
    expect(one.length).toBe(KEY_BLOCK + 12 + 16 + Buffer.byteLength(CANARY));
    expect(one.subarray(0, KEY_BLOCK).equals(two.subarray(0, KEY_BLOCK))).toBe(true);
    expect(one.subarray(KEY_BLOCK, KEY_BLOCK + 12).equals(two.subarray(KEY_BLOCK, KEY_BLOCK + 12))).toBe(
      false,
    );
    expect(one.subarray(KEY_BLOCK + 28).equals(two.subarray(KEY_BLOCK + 28))).toBe(false);

    const ivs = new Set(
      Array.from({ length: 200 }, () =>
        blobOf(cipher.encrypt('v')).toString('hex', KEY_BLOCK, KEY_BLOCK + 12),
      ),
    );
    expect(ivs.size).toBe(200);
    const other = blobOf(createRecordCipher(ringOld).encrypt(CANARY));
    expect(other.subarray(0, KEY_BLOCK).equals(one.subarray(0, KEY_BLOCK))).toBe(false);
  });

  it('decrypts each field on its own, in any order, and unwraps a record key once', () => {
    const cache = createDekCache(8);
    const cipher = createRecordCipher(ringOld);
    const fields = Array.from({ length: 15 }, (_, i) => `value-${i}`);
    const encrypted = fields.map((v) => cipher.encrypt(v));
    const body = (s: string): string => s.slice('enc:v2:'.length);
    expect(decryptFieldV2(ringOld, body(encrypted[7] ?? ''), undefined, cache)).toBe('value-7');
    for (const [i, field] of encrypted.entries())
      expect(decryptFieldV2(ringOld, body(field), undefined, cache)).toBe(fields[i]);
    expect(cache.stats()).toMatchObject({ size: 1, misses: 1, hits: 15 });
  });

  it('uses the process-wide cache in decryptField, and keeps it bounded', () => {
    const before = fieldKeyCacheStats();
    const cipher = createRecordCipher(ringOld);
    for (let i = 0; i < 15; i++) decryptField(ringOld, cipher.encrypt(`v${i}`));
    const after = fieldKeyCacheStats();
    expect(after.misses - before.misses).toBe(1);
    expect(after.hits - before.hits).toBe(14);

    for (let i = 0; i < after.capacity + 20; i++)
      decryptField(ringOld, createRecordCipher(ringOld).encrypt('v'));
    expect(fieldKeyCacheStats().size).toBe(after.capacity);
  });

  it('supports rotation: an old record still decrypts, new records use the new kid, a ring without the old kid fails', () => {
    const old = createRecordCipher(ringOld).encrypt(CANARY);
    expect(fieldKeyId(old)).toBe('old');
    expect(decryptField(ringBoth, old)).toBe(CANARY);
    const fresh = createRecordCipher(ringBoth).encrypt(CANARY);
    expect(fieldKeyId(fresh)).toBe('new');
    expect(decryptField(ringNew, fresh)).toBe(CANARY);

    // Decrypted (and cached) above with ringBoth; a ring without the kid must still refuse it.
    const refused = failure(() => decryptField(ringNew, old));
    expect(refused.code).toBe('DECRYPT_FAILED');
    expect(refused.context).toEqual({ kid: 'old' });
  });

  it('does not let a cached data key open a field for a ring with the same kid but other key bytes', () => {
    const field = createRecordCipher(ringOld).encrypt(CANARY);
    expect(decryptField(ringOld, field)).toBe(CANARY);
    const impostor = createKeyring([['old', randomBytes(32)]]);
    expect(failure(() => decryptField(impostor, field)).code).toBe('DECRYPT_FAILED');
  });

  it('fails on tampering with any byte, after the record key is cached', () => {
    const cipher = createRecordCipher(ringBoth, 'rec-1');
    const field = cipher.encrypt(CANARY);
    expect(decryptField(ringBoth, field, 'rec-1')).toBe(CANARY);
    const blob = blobOf(field);
    for (let i = 0; i < blob.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const tampered = Buffer.from(blob);
        tampered[i] = (tampered[i] ?? 0) ^ bit;
        const error = failure(() =>
          decryptField(ringBoth, `enc:v2:${tampered.toString('base64url')}`, 'rec-1'),
        );
        expect(error.code, `byte ${i} bit ${bit}`).toBe('DECRYPT_FAILED');
        expect(error.message).not.toContain('Zqxcanary');
      }
    }
    for (const length of [0, 1, KEY_BLOCK, KEY_BLOCK + 27, blob.length - 1]) {
      const cut = `enc:v2:${blob.subarray(0, length).toString('base64url')}`;
      expect(failure(() => decryptField(ringBoth, cut, 'rec-1')).code).toBe('DECRYPT_FAILED');
    }
  });

  it('refuses a v1 body behind a v2 prefix and the reverse', () => {
    const v1 = encryptField(ringOld, CANARY);
    const v2 = createRecordCipher(ringOld).encrypt(CANARY);
    expect(failure(() => decryptField(ringOld, `enc:v2:${v1.slice(7)}`)).code).toBe('DECRYPT_FAILED');
    expect(failure(() => decryptField(ringOld, `enc:v1:${v2.slice(7)}`)).code).toBe('DECRYPT_FAILED');
  });

  it('keeps key material out of anything printable', () => {
    const rawKey = Buffer.alloc(32, 0x5a);
    const ring: Keyring = createKeyring([['k', rawKey]]);
    const cipher = createRecordCipher(ring);
    const shown = `${inspect(cipher, { showHidden: true, depth: 5 })}${JSON.stringify(cipher)}${inspect(fieldKeyCacheStats())}`;
    expect(shown).not.toContain('5a5a');
    expect(shown).not.toContain('WlpaWlpa'); // base64 of 0x5a bytes
    expect(Object.keys(cipher)).toEqual(['encrypt']);
  });

  it('rejects a ring whose active kid has no key', () => {
    const broken: Keyring = { activeKid: 'ghost', kids: ['ghost'], keyOf: () => undefined };
    expect(failure(() => createRecordCipher(broken)).code).toBe('KEY_MISSING');
  });
});
