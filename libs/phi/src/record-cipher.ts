import {
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  randomFillSync,
  type KeyObject,
} from 'node:crypto';
import { PipelineError } from '@ehrflow/errors';
import { createDekCache, type DekCache, type DekCacheStats } from './dek-cache.ts';
import { KEY_BYTES, isValidKid, type Keyring } from './keyring.ts';

/**
 * Field encryption, format version 2: one data key (DEK) per record, many fields.
 *
 * Version 1 (`encryptField`) spends a fresh DEK, a KEK wrap and two AES-GCM set-ups on every
 * field. Version 2 draws one random 256-bit DEK per record, wraps it once with the keyring's
 * active KEK (AES-256-GCM), and encrypts each field with AES-256-GCM under that DEK with its own
 * random 96-bit IV. Each field string still carries the wrapped DEK, so it decrypts on its own;
 * a reader caches unwrapped DEKs (`dek-cache.ts`) so a record's fields cost one unwrap.
 *
 * Field string: `"enc:v2:" + base64url(blob)`; blob layout (lengths in bytes):
 *
 * | field      | size   | notes                                                    |
 * |------------|--------|----------------------------------------------------------|
 * | version    | 1      | `0x02`                                                   |
 * | kidLength  | 1      | 1..32                                                    |
 * | kid        | kidLen | ASCII key id of the KEK                                  |
 * | wrapIv     | 12     | GCM nonce for wrapping the DEK                           |
 * | wrappedDek | 32     | DEK encrypted with the KEK                               |
 * | wrapTag    | 16     | GCM tag; AAD = version, kidLength, kid                   |
 * | fieldIv    | 12     | GCM nonce of this field, random                          |
 * | fieldTag   | 16     | GCM tag; AAD = every byte above fieldIv + caller AAD     |
 * | ciphertext | rest   | the UTF-8 value encrypted with the DEK                   |
 *
 * The layout is version 1's with another version byte, deliberately: the same reviewed parts, the
 * same size per field, and the wrap AAD covers the version byte, so a multi-use v2 wrapped DEK
 * cannot be passed off inside a v1 envelope (whose DEK is single-use) or the reverse. A shorter
 * layout would have to drop the wrapped DEK from the field, and with it independent decryption.
 *
 * Nonces: a DEK encrypts one record's fields, a few dozen at most, with random 96-bit IVs — a
 * collision chance around 2^-86 per record; the KEK now wraps one DEK per record instead of one
 * per field, 15 times further from the GCM limit of 2^32 random-nonce messages per key.
 *
 * @see https://nvlpubs.nist.gov/nistpubs/Legacy/SP/nistspecialpublication800-38d.pdf (GCM, section 8)
 */
export const FIELD_V2_VERSION = 2;

/** Prefix of a version-2 encrypted field. */
export const ENCRYPTED_FIELD_PREFIX_V2 = 'enc:v2:';

export const IV_BYTES = 12;
export const TAG_BYTES = 16;
export const CIPHER = 'aes-256-gcm';
/** wrapIv + wrappedDek + wrapTag. */
export const WRAP_BYTES = IV_BYTES + KEY_BYTES + TAG_BYTES;
export const GCM_OPTIONS = { authTagLength: TAG_BYTES } as const;

/** Encrypts the fields of one record; see `createRecordCipher`. */
export interface RecordCipher {
  /** Encrypts one value to a self-contained `enc:v2:` string. */
  encrypt(value: string): string;
}

/**
 * A field cipher for one record: draws one DEK, wraps it once with the ring's active KEK, and
 * encrypts any number of that record's fields with it (a fresh random IV each). Use one cipher
 * per record and drop it afterwards; `decryptField` opens its output.
 *
 * The DEK lives only in this closure as a `KeyObject`: the returned object has one method and no
 * data, so printing or serializing it shows no key bytes.
 *
 * @param aad Optional context bound to every field of this record (e.g. the record id); the same
 *   string must be given to `decryptField`. It is authenticated, not stored.
 * @throws PipelineError KEY_MISSING when the ring has no key for its active kid.
 */
export function createRecordCipher(ring: Keyring, aad?: string): RecordCipher {
  const { kid, kek } = activeKeyOf(ring);
  const { keyBlock, dek } = wrapFreshDataKey(kek, encodeHeader(kid));
  const fieldAad =
    aad === undefined || aad === '' ? keyBlock : Buffer.concat([keyBlock, Buffer.from(aad, 'utf8')]);
  // base64 of a byte string whose length is a multiple of 3 is a prefix of the base64 of any
  // extension of it, so the shared key block is encoded once per record, not once per field.
  const headLength = keyBlock.length - (keyBlock.length % 3);
  const textHead = ENCRYPTED_FIELD_PREFIX_V2 + keyBlock.toString('base64url', 0, headLength);
  const keyTail = keyBlock.subarray(headLength);
  const ivAt = keyTail.length;
  const tagAt = ivAt + IV_BYTES;
  const ciphertextAt = tagAt + TAG_BYTES;
  const iv = Buffer.alloc(IV_BYTES);
  // Holds one field's encoded tail (key-block tail, IV, tag, ciphertext) until it is base64url'd;
  // reused across the record's fields, so no per-field allocation. It never holds plaintext.
  let scratch = Buffer.allocUnsafe(ciphertextAt + 64);

  return Object.freeze({
    encrypt(value: string): string {
      const size = ciphertextAt + Buffer.byteLength(value, 'utf8');
      if (size > scratch.length) scratch = Buffer.allocUnsafe(size);
      const out = scratch;
      out.set(keyTail, 0);
      takeRandom(iv, 0, IV_BYTES);
      out.set(iv, ivAt);
      const cipher = createCipheriv(CIPHER, dek, iv, GCM_OPTIONS);
      cipher.setAAD(fieldAad);
      // TypedArray#set, not Buffer#copy: several times cheaper for a few dozen bytes.
      const body = cipher.update(value, 'utf8');
      out.set(body, ciphertextAt);
      const rest = cipher.final(); // empty for GCM; it computes the tag
      if (rest.length > 0) out.set(rest, ciphertextAt + body.length);
      out.set(cipher.getAuthTag(), tagAt);
      return textHead + out.toString('base64url', 0, size);
    },
  });
}

const unwrapped = createDekCache();

/** Counters of the process-wide cache of unwrapped data keys (for metrics and tests). */
export function fieldKeyCacheStats(): DekCacheStats {
  return unwrapped.stats();
}

/**
 * Decrypts the base64url body of an `enc:v2:` field (used by `decryptField`).
 *
 * @throws PipelineError DECRYPT_FAILED when malformed, its kid is not in the ring, or it fails
 *   authentication. The error names the kid, never any data.
 */
export function decryptFieldV2(
  ring: Keyring,
  body: string,
  aad?: string,
  cache: DekCache = unwrapped,
): string {
  const blob = Buffer.from(body, 'base64url');
  const { kid, keyBlockLength } = parseHeader(blob);
  const kek = ring.keyOf(kid);
  if (kek === undefined) {
    throw decryptError('encrypted field key id is not in the keyring', kid);
  }
  const keyBlock = blob.subarray(0, keyBlockLength);
  const ivAt = keyBlockLength;
  const tagAt = ivAt + IV_BYTES;
  try {
    let dek = cache.get(kek, keyBlock);
    if (dek === undefined) {
      dek = unwrap(kek, keyBlock, keyBlockLength - WRAP_BYTES);
      cache.set(kek, keyBlock, dek);
    }
    const decipher = createDecipheriv(CIPHER, dek, blob.subarray(ivAt, tagAt), GCM_OPTIONS);
    decipher.setAAD(
      aad === undefined || aad === '' ? keyBlock : Buffer.concat([keyBlock, Buffer.from(aad, 'utf8')]),
    );
    decipher.setAuthTag(blob.subarray(tagAt, tagAt + TAG_BYTES));
    const head = decipher.update(blob.subarray(tagAt + TAG_BYTES));
    const tail = decipher.final();
    return tail.length === 0 ? head.toString('utf8') : Buffer.concat([head, tail]).toString('utf8');
  } catch {
    // node:crypto says "unable to authenticate data"; which layer failed is not worth a hint.
    throw decryptError('encrypted field failed authentication (tampered data, wrong key or wrong AAD)', kid);
  }
}

/**
 * The kid of the KEK that wrapped the DEK of an `enc:v2:` body, without decrypting it.
 *
 * @throws PipelineError DECRYPT_FAILED when malformed.
 */
export function keyIdOfFieldV2(body: string): string {
  return parseHeader(Buffer.from(body, 'base64url')).kid;
}

/** Unwraps the DEK of a key block (header, wrap IV, wrapped DEK, wrap tag). Throws when it fails authentication. */
export function unwrap(kek: KeyObject, keyBlock: Buffer, headerLength: number): KeyObject {
  const wrapIv = keyBlock.subarray(headerLength, headerLength + IV_BYTES);
  const unwrapper = createDecipheriv(CIPHER, kek, wrapIv, GCM_OPTIONS);
  unwrapper.setAAD(keyBlock.subarray(0, headerLength));
  unwrapper.setAuthTag(keyBlock.subarray(headerLength + IV_BYTES + KEY_BYTES));
  const dekBytes = Buffer.concat([
    unwrapper.update(keyBlock.subarray(headerLength + IV_BYTES, headerLength + IV_BYTES + KEY_BYTES)),
    unwrapper.final(),
  ]);
  try {
    return createSecretKey(dekBytes);
  } finally {
    dekBytes.fill(0);
  }
}

/** Version byte, kid length, kid. */
export function encodeHeader(kid: string, version: number = FIELD_V2_VERSION): Buffer {
  const kidBytes = Buffer.from(kid, 'ascii');
  return Buffer.concat([Buffer.from([version, kidBytes.length]), kidBytes]);
}

/** The kid and key block length of a blob that starts with a key block of `version`. */
export function parseHeader(
  blob: Buffer,
  version: number = FIELD_V2_VERSION,
): { kid: string; keyBlockLength: number } {
  if (blob.length < 2) throw decryptError('encrypted field is truncated');
  if (blob[0] !== version) {
    throw decryptError(`encrypted field has version byte ${String(blob[0])}, expected ${version}`);
  }
  const kidLength = blob[1] ?? 0;
  const keyBlockLength = 2 + kidLength + WRAP_BYTES;
  if (kidLength === 0 || blob.length < keyBlockLength + IV_BYTES + TAG_BYTES) {
    throw decryptError('encrypted field is truncated');
  }
  const kid = blob.toString('latin1', 2, 2 + kidLength);
  if (!isValidKid(kid)) throw decryptError('encrypted field carries a malformed key id');
  return { kid, keyBlockLength };
}

// Data keys and IVs come from a pool refilled by the CSPRNG: a randomFillSync call costs several
// microseconds whatever its size, more than the AES work on a short field. Every pool byte is
// handed out once and zeroed as it is taken, so no spare copy of a key stays behind.
const RANDOM_POOL = Buffer.alloc(4096);
let randomOffset = RANDOM_POOL.length;

export function takeRandom(into: Uint8Array, at: number, length: number): void {
  if (length > RANDOM_POOL.length - randomOffset) {
    randomFillSync(RANDOM_POOL);
    randomOffset = 0;
  }
  // A byte loop: for the 12 to 32 bytes taken here, cheaper than Buffer#copy and Buffer#fill.
  for (let k = 0; k < length; k++) {
    into[at + k] = RANDOM_POOL[randomOffset + k] as number;
    RANDOM_POOL[randomOffset + k] = 0;
  }
  randomOffset += length;
}

export function decryptError(message: string, kid?: string): PipelineError {
  return new PipelineError('DECRYPT_FAILED', message, { context: kid === undefined ? {} : { kid } });
}

/**
 * The ring's active key id and key.
 *
 * @throws PipelineError KEY_MISSING when the ring has no key for its active kid.
 */
export function activeKeyOf(ring: Keyring): { readonly kid: string; readonly kek: KeyObject } {
  const kid = ring.activeKid;
  const kek = ring.keyOf(kid);
  if (kek === undefined) {
    // Only reachable with a hand-built ring object; parseKeyring/createKeyring guarantee it.
    throw new PipelineError('KEY_MISSING', 'the active key id has no key in the keyring', {
      context: { kid },
    });
  }
  return { kid, kek };
}

/**
 * A fresh random DEK wrapped once under `kek` (AES-256-GCM, AAD = `header`), and its key block
 * (header, wrap IV, wrapped DEK, wrap tag) assembled in place, in one buffer. The DEK is returned
 * as a `KeyObject` (node:crypto sets a cipher up several times faster from it than from key
 * bytes); its bytes are zeroed here.
 */
export function wrapFreshDataKey(
  kek: KeyObject,
  header: Buffer,
): { readonly keyBlock: Buffer; readonly dek: KeyObject } {
  const keyBlock = Buffer.allocUnsafe(header.length + WRAP_BYTES);
  keyBlock.set(header, 0);
  const wrapIvAt = header.length;
  takeRandom(keyBlock, wrapIvAt, IV_BYTES);
  const dekBytes = Buffer.allocUnsafe(KEY_BYTES);
  try {
    takeRandom(dekBytes, 0, KEY_BYTES);
    const wrapper = createCipheriv(
      CIPHER,
      kek,
      keyBlock.subarray(wrapIvAt, wrapIvAt + IV_BYTES),
      GCM_OPTIONS,
    );
    wrapper.setAAD(header);
    keyBlock.set(wrapper.update(dekBytes), wrapIvAt + IV_BYTES);
    wrapper.final(); // empty for GCM; it computes the tag
    keyBlock.set(wrapper.getAuthTag(), wrapIvAt + IV_BYTES + KEY_BYTES);
    return { keyBlock, dek: createSecretKey(dekBytes) };
  } finally {
    dekBytes.fill(0);
  }
}
