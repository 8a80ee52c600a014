import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PipelineError } from '@ehrflow/errors';
import { decryptField, fieldKeyId, isEncryptedField } from './field.ts';
import { createKeyring } from './keyring.ts';
import { SEALED_REF, openSealedBlock, openSealedFields, sealFields } from './sealed-fields.ts';

const keyOld = randomBytes(32);
const keyNew = randomBytes(32);
const ringOld = createKeyring([['old', keyOld]]);
const ringBoth = createKeyring([
  ['old', keyOld],
  ['new', keyNew],
]);
const CANARY = 'Zqxcanary Wplkfamily';

function failure(fn: () => unknown): PipelineError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PipelineError);
    return err as PipelineError;
  }
  throw new Error('expected a failure');
}

function sealedRecord(ring = ringOld): Record<string, unknown> {
  const sealed = sealFields(ring, [
    ['nameFamily', CANARY],
    ['nameGiven', ['Zoë', 'Ångström 🩺']],
    ['noGiven', []],
    ['birthDate', '1970-01-31'],
    ['note', ''],
  ]);
  return { recordId: 'r-1', gender: 'female', ...Object.fromEntries(sealed) };
}

describe('sealed fields (enc:v3)', () => {
  it('seals a record in one block and opens it by field, shapes kept', () => {
    const record = sealedRecord();
    expect(String(record.nameFamily).startsWith('enc:v3:')).toBe(true);
    expect(record.nameGiven).toEqual([SEALED_REF, SEALED_REF]);
    expect(record.noGiven).toEqual([]);
    expect(record.birthDate).toBe(SEALED_REF);
    for (const v of [record.nameFamily, record.birthDate, record.note])
      expect(isEncryptedField(v)).toBe(true);
    expect(JSON.stringify(record)).not.toContain('Zqxcanary');
    const opened = openSealedFields(ringBoth, record);
    expect(opened).toEqual(
      new Map<string, unknown>([
        ['nameFamily', CANARY],
        ['nameGiven', ['Zoë', 'Ångström 🩺']],
        ['birthDate', '1970-01-31'],
        ['note', ''],
      ]),
    );
    expect(fieldKeyId(record.nameFamily as string)).toBe('old');
  });

  it('returns undefined for a record without sealed values, and seals nothing without values', () => {
    expect(openSealedFields(ringOld, { a: 'plain', b: ['x'] })).toBeUndefined();
    expect(sealFields(ringOld, [['a', []]])).toEqual([['a', []]]);
  });

  it('refuses a value moved to a field the block does not name, or missing from one it names', () => {
    const record = sealedRecord();
    const moved = { ...record, birthDate: null, deceased: SEALED_REF };
    expect(failure(() => openSealedFields(ringOld, moved)).code).toBe('DECRYPT_FAILED');
    const extra = { ...record, other: SEALED_REF };
    expect(failure(() => openSealedFields(ringOld, extra)).message).toContain('does not name');
    const shorter = { ...record, nameGiven: [SEALED_REF] };
    expect(failure(() => openSealedFields(ringOld, shorter)).message).toContain('nameGiven');
  });

  it('refuses references without a block, two blocks, a wrong key and tampering, naming no value', () => {
    const record = sealedRecord();
    expect(failure(() => openSealedFields(ringOld, { a: SEALED_REF })).message).toContain('no sealed block');
    const other = sealedRecord();
    expect(failure(() => openSealedFields(ringOld, { ...record, x: other.nameFamily })).message).toContain(
      'more than one',
    );
    const wrong = createKeyring([['old', randomBytes(32)]]);
    expect(failure(() => openSealedFields(wrong, record)).code).toBe('DECRYPT_FAILED');
    expect(failure(() => openSealedFields(createKeyring([['new', keyNew]]), record)).message).toContain(
      'not in',
    );
    // Flip one bit of the table (a field name): authentication fails.
    const block = record.nameFamily as string;
    const blob = Buffer.from(block.slice(7), 'base64url');
    blob[2 + 3 + 60 + 2] = (blob[2 + 3 + 60 + 2] as number) ^ 1;
    const tampered = { ...record, nameFamily: `enc:v3:${blob.toString('base64url')}` };
    const err = failure(() => openSealedFields(ringOld, tampered));
    expect(err.code).toBe('DECRYPT_FAILED');
    expect(err.message).not.toContain(CANARY);
  });

  it('is opened whole by scanners, and never by the single-field decryptor', () => {
    const record = sealedRecord();
    expect(openSealedBlock(ringOld, record.nameFamily as string)).toEqual([
      CANARY,
      'Zoë',
      'Ångström 🩺',
      '1970-01-31',
      '',
    ]);
    expect(failure(() => decryptField(ringOld, record.nameFamily as string)).message).toContain(
      'openSealedFields',
    );
    expect(failure(() => fieldKeyId(SEALED_REF)).code).toBe('DECRYPT_FAILED');
  });

  it('draws a fresh IV per record (the data key is leased for a run, data-key-lease.test.ts)', () => {
    const a = sealFields(ringOld, [['f', CANARY]])[0]?.[1];
    const b = sealFields(ringOld, [['f', CANARY]])[0]?.[1];
    expect(a).not.toBe(b);
  });
});

describe('decryptRecord', () => {
  it('opens sealed and self-contained values of a record alike, keeping the rest', async () => {
    const { decryptRecord, encryptField } = await import('./field.ts');
    const record = { ...sealedRecord(), legacy: encryptField(ringOld, 'v1 value'), list: ['a', 1] };
    expect(decryptRecord(ringOld, record)).toEqual({
      recordId: 'r-1',
      gender: 'female',
      nameFamily: CANARY,
      nameGiven: ['Zoë', 'Ångström 🩺'],
      noGiven: [],
      birthDate: '1970-01-31',
      note: '',
      legacy: 'v1 value',
      list: ['a', 1],
    });
  });
});
