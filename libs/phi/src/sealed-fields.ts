import { createCipheriv, createDecipheriv, type KeyObject } from 'node:crypto';
import { PipelineError } from '@ehrflow/errors';
import { leaseDataKey } from './data-key-lease.ts';
import { createDekCache, type DekCacheStats } from './dek-cache.ts';
import type { Keyring } from './keyring.ts';
import {
  CIPHER,
  GCM_OPTIONS,
  IV_BYTES,
  TAG_BYTES,
  WRAP_BYTES,
  decryptError,
  parseHeader,
  takeRandom,
  unwrap,
} from './record-cipher.ts';

/**
 * Sealed record fields, format version 3: all PHI values of one record in ONE AES-256-GCM
 * operation, under one data key (DEK) wrapped once with the keyring's active key.
 *
 * Version 2 (`createRecordCipher`) keeps every field self-contained, which costs a cipher set-up,
 * an AAD, a tag and a copy of the wrapped DEK per value: for a Patient with a dozen PHI values
 * that was most of the validator's CPU per record, and the redactor paid the same again to open
 * them. Version 3 seals the values together, and a record's PHI fields stay where the contract
 * declares them (each still a string, so one Avro schema per valid topic is kept):
 *
 * - the first sealed value of the record holds the block, `"enc:v3:" + base64url(blob)`;
 * - every other sealed value holds the reference {@link SEALED_REF} (`"enc:v3:-"`).
 *
 * Blob layout (lengths in bytes):
 *
 * | part        | size     | notes                                                        |
 * |-------------|----------|--------------------------------------------------------------|
 * | version     | 1        | `0x03`                                                       |
 * | kidLength   | 1        | 1..32                                                        |
 * | kid         | kidLen   | ASCII key id of the KEK                                      |
 * | wrapIv      | 12       | GCM nonce for wrapping the DEK                               |
 * | wrappedDek  | 32       | DEK encrypted with the KEK                                   |
 * | wrapTag     | 16       | GCM tag; AAD = version, kidLength, kid                       |
 * | tableLength | 2        | big-endian                                                   |
 * | table       | tableLen | ASCII `name` (a string) or `name*N` (N strings), `,`-joined  |
 * | iv          | 12       | GCM nonce of the values, random                              |
 * | tag         | 16       | GCM tag; AAD = every byte above `iv`                         |
 * | ciphertext  | rest     | per value: uint32 big-endian UTF-8 length, then the bytes    |
 *
 * The table names the fields (schema names, never values) and is authenticated, so after one
 * decryption the values are addressable by field again, and a reader checks that every field the
 * table names holds the block or references — a value moved to another field fails. A DEK seals
 * a bounded run of records (`leaseDataKey`: at most 1,024, for at most 60 s), each under its own
 * random IV, so the wrap is paid once per run and readers unwrap once per run (cached).
 *
 * @see https://nvlpubs.nist.gov/nistpubs/Legacy/SP/nistspecialpublication800-38d.pdf (GCM)
 */
export const FIELD_V3_VERSION = 3;

/** Prefix of a version-3 sealed value (the block or a reference). */
export const ENCRYPTED_FIELD_PREFIX_V3 = 'enc:v3:';

/** What a sealed value other than the first holds: "in this record's block". */
export const SEALED_REF = 'enc:v3:-';

/** A record's PHI values by field: a string, or an array of strings. */
export type SealedValue = string | readonly string[];

const TABLE_AT_OFFSET = 2;
const LENGTH_BYTES = 4;

/**
 * Seals the given fields of one record in one AES-GCM operation. Returns the same fields in the
 * same order and shape (a string stays a string, an array keeps its length): the first value is
 * the block, every other one {@link SEALED_REF}. Empty arrays are returned as they are and not
 * sealed. Field names must be Avro names (no `,` or `*`).
 *
 * @throws PipelineError KEY_MISSING when the ring has no key for its active kid.
 */
export function sealFields(
  ring: Keyring,
  fields: readonly (readonly [name: string, value: SealedValue])[],
): [string, SealedValue][] {
  const table: string[] = [];
  const texts: string[] = [];
  for (const [name, value] of fields) {
    if (typeof value === 'string') {
      table.push(name);
      texts.push(value);
    } else if (value.length > 0) {
      table.push(`${name}*${value.length}`);
      for (const v of value) texts.push(v);
    }
  }
  if (texts.length === 0) return fields.map(([name, value]) => [name, value]);
  const block = seal(ring, table.join(','), texts);
  let first = true;
  const take = (): string => {
    if (!first) return SEALED_REF;
    first = false;
    return block;
  };
  return fields.map(([name, value]): [string, SealedValue] => [
    name,
    typeof value === 'string' ? take() : value.map(() => take()),
  ]);
}

function seal(ring: Keyring, tableText: string, texts: readonly string[]): string {
  const { keyBlock, dek } = leaseDataKey(ring, FIELD_V3_VERSION);
  const tableLength = Buffer.byteLength(tableText, 'latin1');
  if (tableLength > 0xffff) throw new RangeError('sealed field table longer than 65535 bytes');
  let plainLength = 0;
  const lengths = texts.map((t) => {
    const n = Buffer.byteLength(t, 'utf8');
    plainLength += LENGTH_BYTES + n;
    return n;
  });
  const tableAt = keyBlock.length + TABLE_AT_OFFSET;
  const ivAt = tableAt + tableLength;
  const tagAt = ivAt + IV_BYTES;
  const ciphertextAt = tagAt + TAG_BYTES;
  const blob = Buffer.allocUnsafe(ciphertextAt + plainLength);
  blob.set(keyBlock, 0);
  blob.writeUInt16BE(tableLength, tableAt - TABLE_AT_OFFSET);
  blob.write(tableText, tableAt, 'latin1');
  takeRandom(blob, ivAt, IV_BYTES);

  const plain = Buffer.allocUnsafe(plainLength);
  let at = 0;
  for (let i = 0; i < texts.length; i++) {
    plain.writeUInt32BE(lengths[i] as number, at);
    at += LENGTH_BYTES;
    at += plain.write(texts[i] as string, at, 'utf8');
  }
  try {
    const cipher = createCipheriv(CIPHER, dek, blob.subarray(ivAt, tagAt), GCM_OPTIONS);
    cipher.setAAD(blob.subarray(0, ivAt));
    blob.set(cipher.update(plain), ciphertextAt);
    cipher.final(); // empty for GCM; it computes the tag
    blob.set(cipher.getAuthTag(), tagAt);
  } finally {
    plain.fill(0);
  }
  return ENCRYPTED_FIELD_PREFIX_V3 + blob.toString('base64url');
}

/** Whether a value is a version-3 sealed value (the block or a reference). */
export function isSealedValue(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(ENCRYPTED_FIELD_PREFIX_V3);
}

/**
 * Opens the sealed fields of a record: finds its block, decrypts it once, and returns the
 * values by field name, after checking that every field the block names holds the block or
 * references in the same shape, and that no other field of the record holds a sealed value.
 * Returns undefined when the record has no sealed value at all (it may hold v1/v2 fields).
 *
 * @throws PipelineError DECRYPT_FAILED naming the field or kid (never a value): malformed, a kid
 *   not in the ring, failed authentication, references without a block, or values moved.
 */
export function openSealedFields(
  ring: Keyring,
  record: Readonly<Record<string, unknown>>,
): Map<string, SealedValue> | undefined {
  let block: string | undefined;
  let sealedFields = 0;
  for (const name in record) {
    const value = record[name];
    if (typeof value === 'string') {
      if (!isSealedValue(value)) continue;
      sealedFields++;
      if (value !== SEALED_REF) block = onlyBlock(block, value, name);
    } else if (Array.isArray(value)) {
      let sealed = false;
      for (const v of value) {
        if (!isSealedValue(v)) continue;
        sealed = true;
        if (v !== SEALED_REF) block = onlyBlock(block, v, name);
      }
      if (sealed) sealedFields++;
    }
  }
  if (sealedFields === 0) return undefined;
  if (block === undefined) {
    throw new PipelineError('DECRYPT_FAILED', 'record holds sealed field references but no sealed block');
  }
  const { table, values } = openBlock(ring, block);
  const out = new Map<string, SealedValue>();
  let next = 0;
  for (const entry of table) {
    const star = entry.indexOf('*');
    const name = star < 0 ? entry : entry.slice(0, star);
    const value = record[name];
    if (star < 0) {
      if (!isSealedValue(value)) throw moved(name);
      out.set(name, values[next++] as string);
    } else {
      const count = Number(entry.slice(star + 1));
      if (!Array.isArray(value) || value.length !== count || !value.every((v) => isSealedValue(v)))
        throw moved(name);
      out.set(name, values.slice(next, next + count));
      next += count;
    }
  }
  if (out.size !== sealedFields || next !== values.length) {
    throw new PipelineError(
      'DECRYPT_FAILED',
      'record holds sealed values in fields its sealed block does not name',
    );
  }
  return out;
}

/**
 * The plaintext values of one sealed block, in table order, without the record around it (for
 * scanners that look inside ciphertext). Readers of records use {@link openSealedFields}.
 *
 * @throws PipelineError DECRYPT_FAILED.
 */
export function openSealedBlock(ring: Keyring, block: string): string[] {
  return openBlock(ring, block).values;
}

/**
 * The kid of the KEK that wrapped a sealed block's DEK, without decrypting it.
 *
 * @throws PipelineError DECRYPT_FAILED when malformed or a reference (which carries no key).
 */
export function keyIdOfSealed(value: string): string {
  if (value === SEALED_REF) throw decryptError('a sealed field reference carries no key id');
  return parseHeader(
    Buffer.from(value.slice(ENCRYPTED_FIELD_PREFIX_V3.length), 'base64url'),
    FIELD_V3_VERSION,
  ).kid;
}

function onlyBlock(found: string | undefined, value: string, name: string): string {
  if (found !== undefined && found !== value) {
    throw new PipelineError('DECRYPT_FAILED', `field ${name}: record holds more than one sealed block`, {
      context: { fieldPath: name },
    });
  }
  return value;
}

function moved(name: string): PipelineError {
  return new PipelineError(
    'DECRYPT_FAILED',
    `field ${name}: does not hold the sealed values its block names`,
    {
      context: { fieldPath: name },
    },
  );
}

/** Unwrapped DEKs of sealed blocks. */
const sealedKeys = createDekCache();

/** Counters of the process-wide cache of unwrapped sealed-block DEKs (for metrics and tests). */
export function sealedKeyCacheStats(): DekCacheStats {
  return sealedKeys.stats();
}

function openBlock(ring: Keyring, block: string): { table: string[]; values: string[] } {
  const blob = Buffer.from(block.slice(ENCRYPTED_FIELD_PREFIX_V3.length), 'base64url');
  const { kid, keyBlockLength } = parseHeader(blob, FIELD_V3_VERSION);
  const kek: KeyObject | undefined = ring.keyOf(kid);
  if (kek === undefined) throw decryptError('sealed block key id is not in the keyring', kid);
  const tableAt = keyBlockLength + TABLE_AT_OFFSET;
  if (blob.length < tableAt) throw decryptError('sealed block is truncated', kid);
  const ivAt = tableAt + blob.readUInt16BE(keyBlockLength);
  const tagAt = ivAt + IV_BYTES;
  const ciphertextAt = tagAt + TAG_BYTES;
  if (blob.length < ciphertextAt) throw decryptError('sealed block is truncated', kid);
  let plain: Buffer;
  try {
    // Records sealed under one DEK share their key block: one unwrap between them. The cache is
    // keyed by every byte the unwrap authenticates and by the KEK object, so a miss (another
    // ring, a tampered key block) goes through a real unwrap, which fails.
    const keyBlock = blob.subarray(0, keyBlockLength);
    let dek = sealedKeys.get(kek, keyBlock);
    if (dek === undefined) {
      dek = unwrap(kek, keyBlock, keyBlockLength - WRAP_BYTES);
      sealedKeys.set(kek, keyBlock, dek);
    }
    const decipher = createDecipheriv(CIPHER, dek, blob.subarray(ivAt, tagAt), GCM_OPTIONS);
    decipher.setAAD(blob.subarray(0, ivAt));
    decipher.setAuthTag(blob.subarray(tagAt, ciphertextAt));
    const head = decipher.update(blob.subarray(ciphertextAt));
    const tail = decipher.final();
    plain = tail.length === 0 ? head : Buffer.concat([head, tail]);
  } catch {
    throw decryptError('sealed block failed authentication (tampered data or wrong key)', kid);
  }
  const values: string[] = [];
  for (let at = 0; at < plain.length;) {
    if (at + LENGTH_BYTES > plain.length) throw decryptError('sealed block values are malformed', kid);
    const n = plain.readUInt32BE(at);
    at += LENGTH_BYTES;
    if (at + n > plain.length) throw decryptError('sealed block values are malformed', kid);
    values.push(plain.toString('utf8', at, at + n));
    at += n;
  }
  plain.fill(0);
  const tableText = blob.toString('latin1', tableAt, ivAt);
  const table = tableText === '' ? [] : tableText.split(',');
  const expected = table.reduce((sum, e) => {
    const star = e.indexOf('*');
    return sum + (star < 0 ? 1 : Number(e.slice(star + 1)));
  }, 0);
  if (expected !== values.length) throw decryptError('sealed block table does not match its values', kid);
  return { table, values };
}

/**
 * A copy of a record with every encrypted top-level value opened: sealed `enc:v3:` values through
 * {@link openSealedFields}, self-contained `enc:v1:`/`enc:v2:` values one by one (`decryptField`).
 * Other values are kept as they are. For readers that want the whole record in clear (tests,
 * tools); the redactor's decryptor also checks the contract's PHI fields.
 *
 * @throws PipelineError DECRYPT_FAILED naming the field or kid.
 */
export function decryptRecordFields(
  ring: Keyring,
  record: Readonly<Record<string, unknown>>,
  decryptOne: (ring: Keyring, value: string) => string,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...record };
  const sealed = openSealedFields(ring, record);
  for (const name in record) {
    const value = record[name];
    const opened = sealed?.get(name);
    if (opened !== undefined) out[name] = opened;
    else if (typeof value === 'string' && SELF_CONTAINED.test(value)) out[name] = decryptOne(ring, value);
    else if (Array.isArray(value) && value.some((v) => typeof v === 'string' && SELF_CONTAINED.test(v)))
      out[name] = value.map((v: unknown) =>
        typeof v === 'string' && SELF_CONTAINED.test(v) ? decryptOne(ring, v) : v,
      );
  }
  return out;
}

const SELF_CONTAINED = /^enc:v[12]:[A-Za-z0-9_-]+$/;
