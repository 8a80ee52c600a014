import { describe, expect, it } from 'vitest';
import { SEALED_REF, createKeyring, encryptField } from '@ehrflow/phi';
import { createDecryptor } from './decrypt.ts';
import { contractOfType, patientResource, people, validRecord } from './testing/fixtures.ts';

const k1 = Buffer.alloc(32, 1);
const k2 = Buffer.alloc(32, 2);
const oldRing = createKeyring([['k1', k1]]);
const rotated = createKeyring([
  ['k1', k1],
  ['k2', k2],
]);
const [jane] = people(1, 'site-a');
if (jane === undefined) throw new Error('fixture');

describe('createDecryptor', () => {
  it('decrypts records written before and after a key rotation with one ring', () => {
    const decrypt = createDecryptor(contractOfType('Patient'), rotated);
    const before = validRecord('Patient', patientResource(jane), jane.sourceId, oldRing);
    const after = validRecord('Patient', patientResource(jane), jane.sourceId, rotated);
    expect(JSON.stringify(before.encrypted)).not.toBe(JSON.stringify(after.encrypted));
    expect(decrypt(before.encrypted)).toEqual(before.plain);
    expect(decrypt(after.encrypted)).toEqual(after.plain);
  });

  it('decrypts records of older validators (one enc:v1: value per field)', () => {
    const decrypt = createDecryptor(contractOfType('Patient'), rotated);
    const legacy = validRecord('Patient', patientResource(jane), jane.sourceId, oldRing, 'v1');
    expect(String(legacy.encrypted.nameFamily)).toMatch(/^enc:v1:/);
    expect(decrypt(legacy.encrypted)).toEqual(legacy.plain);
  });

  it('fails on sealed values of a key the ring does not hold, or moved to another field', () => {
    const stranger = createKeyring([['k9', Buffer.alloc(32, 9)]]);
    const decrypt = createDecryptor(contractOfType('Patient'), rotated);
    const foreign = validRecord('Patient', patientResource(jane), jane.sourceId, stranger);
    expect(() => decrypt(foreign.encrypted)).toThrow(
      /sealed PHI fields cannot be decrypted \(DECRYPT_FAILED\)/,
    );
    const { encrypted } = validRecord('Patient', patientResource(jane), jane.sourceId, oldRing);
    expect(encrypted.telecomPhone).toBe(SEALED_REF);
    expect(() => decrypt({ ...encrypted, telecomPhone: null, telecomEmail: SEALED_REF })).toThrow(
      /sealed PHI fields cannot be decrypted/,
    );
  });

  it('fails on a key the ring does not hold, naming the field and not the value', () => {
    const stranger = createKeyring([['k9', Buffer.alloc(32, 9)]]);
    const { encrypted } = validRecord('Patient', patientResource(jane), jane.sourceId, oldRing, 'v1');
    const record = { ...encrypted, nameFamily: encryptField(stranger, jane.family) };
    const decrypt = createDecryptor(contractOfType('Patient'), rotated);
    expect(() => decrypt(record)).toThrow(/field nameFamily: cannot decrypt/);
    try {
      decrypt(record);
    } catch (err) {
      expect(JSON.stringify({ message: (err as Error).message, ...(err as object) })).not.toContain(
        jane.family,
      );
    }
  });

  it('refuses a PHI field that arrives in clear', () => {
    const { encrypted } = validRecord('Patient', patientResource(jane), jane.sourceId, oldRing);
    const decrypt = createDecryptor(contractOfType('Patient'), rotated);
    expect(() => decrypt({ ...encrypted, telecomPhone: jane.phone })).toThrow(
      /field telecomPhone: PHI field is not encrypted in the valid record/,
    );
  });

  it('leaves non-PHI fields and nulls alone', () => {
    const { encrypted, plain } = validRecord('Patient', patientResource(jane), jane.sourceId, oldRing);
    const out = createDecryptor(contractOfType('Patient'), oldRing)({ ...encrypted, deceasedDateTime: null });
    expect(out.gender).toBe(plain.gender);
    expect(out.deceasedDateTime).toBeNull();
  });
});
