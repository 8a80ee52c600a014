import { randomBytes } from 'node:crypto';
import type { FieldContract } from '@ehrflow/contracts';
import { SEALED_REF, createKeyring, decryptRecord, isEncryptedField } from '@ehrflow/phi';
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

describe('encryptPhiFields', () => {
  it('encrypts every PHI value (unclassified included), keeps the rest, and round-trips', () => {
    const out = encryptPhiFields(record, contract, ring);
    expect(out.recordId).toBe('r1');
    expect(out.gender).toBe('female');
    expect(out.telecomPhone).toBeNull();
    const encrypted = [out.nameFamily, ...(out.nameGiven as string[]), out.birthDate, out.note] as string[];
    for (const value of encrypted) {
      expect(value).toMatch(/^enc:v3:/);
      expect(isEncryptedField(value)).toBe(true);
    }
    const opened = decryptRecord(ring, out);
    expect([opened.nameFamily, opened.nameGiven, opened.birthDate, opened.note]).toEqual([
      CANARY,
      ['Synthia', 'Ann'],
      '1970-01-31',
      'free text',
    ]);
    expect(JSON.stringify(out)).not.toContain('Zqxcanaryvalue');
  });

  it('seals a record in one block, the other values referring to it, with a fresh block per record', () => {
    const one = encryptPhiFields(record, contract, ring);
    const two = encryptPhiFields(record, contract, ring);
    expect((one.nameFamily as string).length).toBeGreaterThan(SEALED_REF.length);
    expect([...(one.nameGiven as string[]), one.birthDate, one.note]).toEqual([
      SEALED_REF,
      SEALED_REF,
      SEALED_REF,
      SEALED_REF,
    ]);
    expect(one.nameFamily).not.toBe(two.nameFamily);
    expect(encryptPhiFields({ recordId: 'r2', gender: 'male', telecomPhone: null }, contract, ring)).toEqual({
      recordId: 'r2',
      gender: 'male',
      telecomPhone: null,
    });
  });

  it('follows the classification of the contract version it is given, each version worked out once', () => {
    const strict = { fields: [field('gender', 'direct'), field('nameFamily', 'direct')] };
    const relaxed = { fields: [field('gender', 'none'), field('nameFamily', 'direct')] };
    const value = { gender: 'female', nameFamily: CANARY };
    // Alternating versions: a cache keyed wrongly would apply one version's PHI list to the other.
    for (let i = 0; i < 3; i++) {
      const a = decryptRecord(ring, encryptPhiFields(value, strict, ring));
      expect(a.gender).toBe('female');
      expect(a.nameFamily).toBe(CANARY);
      const b = encryptPhiFields(value, relaxed, ring);
      expect(b.gender).toBe('female');
      expect(isEncryptedField(b.nameFamily)).toBe(true);
    }
    expect(value).toEqual({ gender: 'female', nameFamily: CANARY });
  });
});
