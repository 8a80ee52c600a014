import { randomBytes } from 'node:crypto';
import type { FieldContract } from '@ehrflow/contracts';
import { createKeyring, decryptField, isEncryptedField } from '@ehrflow/phi';
import { describe, expect, it } from 'vitest';
import { encryptPhiFields } from './encrypt-phi.ts';
import { CANARY } from './testing/fixtures.ts';

const ring = createKeyring([['k1', randomBytes(32)]]);

const field = (name: string, phiClass: FieldContract['phiClass']) => ({ name, phiClass }) as FieldContract;
const contract = {
  fields: [
    field('recordId', 'none'),
    field('gender', 'none'),
    field('nameFamily', 'direct'),
    field('nameGiven', 'direct'),
    field('birthDate', 'quasi'),
    field('note', 'unclassified'),
    field('telecomPhone', 'direct'),
  ],
};
const record = {
  recordId: 'r1',
  gender: 'female',
  nameFamily: CANARY,
  nameGiven: ['Synthia', 'Ann'],
  birthDate: '1970-01-31',
  note: 'free text',
  telecomPhone: null,
};

/** The base64url text of a v2 field's shared key block: version, kid length, kid "k1", wrap IV, wrapped DEK, wrap tag. */
const keyBlockOf = (s: string) => Buffer.from(s.slice(7), 'base64url').subarray(0, 2 + 2 + 60).toString('hex');

describe('encryptPhiFields', () => {
  it('encrypts every PHI value (unclassified included), keeps the rest, and round-trips', () => {
    const out = encryptPhiFields(record, contract, ring);
    expect(out.recordId).toBe('r1');
    expect(out.gender).toBe('female');
    expect(out.telecomPhone).toBeNull();
    const encrypted = [out.nameFamily, ...(out.nameGiven as string[]), out.birthDate, out.note] as string[];
    for (const value of encrypted) {
      expect(value).toMatch(/^enc:v2:/);
      expect(isEncryptedField(value)).toBe(true);
    }
    expect(encrypted.map((v) => decryptField(ring, v))).toEqual([CANARY, 'Synthia', 'Ann', '1970-01-31', 'free text']);
    expect(JSON.stringify(out)).not.toContain('Zqxcanaryvalue');
  });

  it('wraps one data key per record, shared by its fields, with distinct IVs', () => {
    const one = encryptPhiFields(record, contract, ring);
    const two = encryptPhiFields(record, contract, ring);
    const fieldsOf = (r: typeof one) => [r.nameFamily, ...(r.nameGiven as string[]), r.birthDate, r.note] as string[];
    expect(new Set(fieldsOf(one).map(keyBlockOf)).size).toBe(1);
    expect(keyBlockOf(one.nameFamily as string)).not.toBe(keyBlockOf(two.nameFamily as string));
    const ivs = fieldsOf(one).map((s) => Buffer.from(s.slice(7), 'base64url').toString('hex', 64, 76));
    expect(new Set(ivs).size).toBe(ivs.length);
  });

  it('follows the classification of the contract version it is given, each version worked out once', () => {
    const strict = { fields: [field('gender', 'direct'), field('nameFamily', 'direct')] };
    const relaxed = { fields: [field('gender', 'none'), field('nameFamily', 'direct')] };
    const value = { gender: 'female', nameFamily: CANARY };
    // Alternating versions: a cache keyed wrongly would apply one version's PHI list to the other.
    for (let i = 0; i < 3; i++) {
      const a = encryptPhiFields(value, strict, ring);
      expect(decryptField(ring, a.gender as string)).toBe('female');
      expect(decryptField(ring, a.nameFamily as string)).toBe(CANARY);
      const b = encryptPhiFields(value, relaxed, ring);
      expect(b.gender).toBe('female');
      expect(isEncryptedField(b.nameFamily)).toBe(true);
    }
    expect(value).toEqual({ gender: 'female', nameFamily: CANARY });
  });
});
