import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createKeyring } from './keyring.ts';
import { decryptField, encryptField, fieldKeyId, isEncryptedField } from './field.ts';
import { createRecordCipher } from './record-cipher.ts';

const ring = createKeyring([['k1', randomBytes(32)]]);

describe('field encryption', () => {
  it('round-trips unicode values and produces the enc:v1 form', () => {
    const value = 'Zoë Ångström-Canary 🩺';
    const encrypted = encryptField(ring, value, 'rec1/name.family');
    expect(encrypted).toMatch(/^enc:v1:[A-Za-z0-9_-]+$/);
    expect(encrypted).not.toContain('Canary');
    expect(isEncryptedField(encrypted)).toBe(true);
    expect(decryptField(ring, encrypted, 'rec1/name.family')).toBe(value);
    expect(decryptField(ring, encryptField(ring, ''))).toBe('');
  });

  it('binds the value to its AAD', () => {
    const encrypted = encryptField(ring, '1961-03-03', 'rec1/birthDate');
    expect(() => decryptField(ring, encrypted, 'rec2/birthDate')).toThrow(
      expect.objectContaining({ code: 'DECRYPT_FAILED' }),
    );
  });

  it('refuses plaintext without echoing it', () => {
    expect(() => decryptField(ring, 'Jane Canary')).toThrow(
      expect.objectContaining({ code: 'DECRYPT_FAILED', message: expect.not.stringContaining('Canary') }),
    );
  });

  it('decrypts v1 and v2 fields of one record side by side', () => {
    const cipher = createRecordCipher(ring);
    const mixed = [
      encryptField(ring, 'Jane'),
      cipher.encrypt('Canary'),
      encryptField(ring, ''),
      cipher.encrypt('1961-03-03'),
    ];
    expect(mixed.map((s) => s.slice(0, 7))).toEqual(['enc:v1:', 'enc:v2:', 'enc:v1:', 'enc:v2:']);
    expect(mixed.map((s) => decryptField(ring, s))).toEqual(['Jane', 'Canary', '', '1961-03-03']);
    expect(mixed.map((s) => fieldKeyId(s))).toEqual(['k1', 'k1', 'k1', 'k1']);
  });

  it('recognises only the encrypted form', () => {
    expect(isEncryptedField('enc:v1:')).toBe(false);
    expect(isEncryptedField('enc:v2:')).toBe(false);
    expect(isEncryptedField('enc:v2:AAAA')).toBe(true);
    expect(isEncryptedField('enc:v4:AAAA')).toBe(false);
    expect(isEncryptedField('enc:v3:-')).toBe(true);
    expect(isEncryptedField('enc:v1:ab+/')).toBe(false);
    expect(isEncryptedField(42)).toBe(false);
    expect(isEncryptedField('Jane')).toBe(false);
  });
});
