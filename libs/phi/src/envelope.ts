import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { PipelineError } from '@ehrflow/errors';
import { KEY_BYTES, isValidKid, type Keyring } from './keyring.ts';
import { GCM_OPTIONS, takeRandom } from './record-cipher.ts';

/**
 * Envelope encryption: every message gets a fresh random 256-bit data key (DEK); the DEK is
 * wrapped with the keyring's active key-encryption key (KEK). Both layers are AES-256-GCM.
 * Rotating the KEK therefore never requires re-encrypting payloads, only keeping the old kid in
 * the ring until the data it wrapped has expired.
 *
 * Binary layout, version 1 (all lengths in bytes):
 *
 * | field       | size   | notes                                            |
 * |-------------|--------|--------------------------------------------------|
 * | version     | 1      | `0x01`                                           |
 * | kidLength   | 1      | 1..32                                            |
 * | kid         | kidLen | ASCII key id of the KEK                          |
 * | wrapIv      | 12     | GCM nonce for wrapping the DEK                   |
 * | wrappedDek  | 32     | DEK encrypted with the KEK                       |
 * | wrapTag     | 16     | GCM tag; AAD = version, kidLength, kid           |
 * | dataIv      | 12     | GCM nonce for the payload                        |
 * | dataTag     | 16     | GCM tag; AAD = every byte above + caller AAD     |
 * | ciphertext  | rest   | payload encrypted with the DEK                   |
 *
 * Because the payload AAD covers the whole header, swapping the wrapped DEK or kid of two
 * envelopes fails authentication. Random 96-bit nonces under one KEK stay well inside the GCM
 * limit (2^32 messages per key) as long as keys are rotated; the DEK is single-use.
 *
 * @see https://nvlpubs.nist.gov/nistpubs/Legacy/SP/nistspecialpublication800-38d.pdf (GCM, section 8)
 */
export const ENVELOPE_VERSION = 1;

const IV_BYTES = 12;
const TAG_BYTES = 16;
const CIPHER = 'aes-256-gcm';
/** Bytes after the kid and before the ciphertext. */
const FIXED_TAIL = IV_BYTES + KEY_BYTES + TAG_BYTES + IV_BYTES + TAG_BYTES;

/**
 * Encrypts a payload for the keyring's active key. `aad` is authenticated but not stored: the
 * same bytes must be given to `decryptPayload` (bind a payload to its record id, for example).
 */
export function encryptPayload(ring: Keyring, plaintext: Buffer, aad?: Buffer): Buffer {
  const kid = ring.activeKid;
  const kek = requireKey(ring, kid);
  const header = encodeHeader(kid);
  // The envelope is assembled in place, in one buffer: no concatenation per part.
  const wrapIvAt = header.length;
  const wrappedAt = wrapIvAt + IV_BYTES;
  const wrapTagAt = wrappedAt + KEY_BYTES;
  const dataIvAt = wrapTagAt + TAG_BYTES;
  const dataTagAt = dataIvAt + IV_BYTES;
  const ciphertextAt = dataTagAt + TAG_BYTES;
  const envelope = Buffer.allocUnsafe(ciphertextAt + plaintext.length);
  envelope.set(header, 0);
  // IVs and the DEK from the pooled CSPRNG bytes: randomBytes costs more per call than the wrap.
  takeRandom(envelope, wrapIvAt, IV_BYTES);
  takeRandom(envelope, dataIvAt, IV_BYTES);
  const dek = Buffer.allocUnsafe(KEY_BYTES);
  try {
    takeRandom(dek, 0, KEY_BYTES);
    const wrapper = createCipheriv(CIPHER, kek, envelope.subarray(wrapIvAt, wrappedAt), GCM_OPTIONS);
    wrapper.setAAD(header);
    envelope.set(wrapper.update(dek), wrappedAt);
    wrapper.final(); // empty for GCM; it computes the tag
    envelope.set(wrapper.getAuthTag(), wrapTagAt);

    // node:crypto sets a cipher up several times faster from a KeyObject than from key bytes.
    const cipher = createCipheriv(
      CIPHER,
      createSecretKey(dek),
      envelope.subarray(dataIvAt, dataTagAt),
      GCM_OPTIONS,
    );
    cipher.setAAD(dataAad(envelope.subarray(0, dataIvAt), aad));
    const body = cipher.update(plaintext);
    envelope.set(body, ciphertextAt);
    const rest = cipher.final();
    if (rest.length > 0) envelope.set(rest, ciphertextAt + body.length);
    envelope.set(cipher.getAuthTag(), dataTagAt);
    return envelope;
  } finally {
    dek.fill(0);
  }
}

/**
 * Decrypts an envelope made by `encryptPayload` with any key of the ring.
 *
 * @throws PipelineError DECRYPT_FAILED when the envelope is malformed, its kid is not in the ring,
 *   or authentication fails (tampering, wrong AAD). The error names the kid, never any data.
 */
export function decryptPayload(ring: Keyring, envelope: Buffer, aad?: Buffer): Buffer {
  const parts = parseEnvelope(envelope);
  const kek = ring.keyOf(parts.kid);
  if (kek === undefined) {
    throw decryptError('envelope key id is not in the keyring', parts.kid);
  }
  let dek: Buffer | undefined;
  try {
    const unwrapper = createDecipheriv(CIPHER, kek, parts.wrapIv, { authTagLength: TAG_BYTES });
    unwrapper.setAAD(parts.header);
    unwrapper.setAuthTag(parts.wrapTag);
    dek = joined(unwrapper.update(parts.wrappedDek), unwrapper.final());

    const decipher = createDecipheriv(CIPHER, createSecretKey(dek), parts.dataIv, {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(dataAad(parts.prefix, aad));
    decipher.setAuthTag(parts.dataTag);
    return joined(decipher.update(parts.ciphertext), decipher.final());
  } catch {
    // node:crypto says "unable to authenticate data"; which layer failed is not worth a hint.
    throw decryptError('envelope failed authentication (tampered data, wrong key or wrong AAD)', parts.kid);
  } finally {
    dek?.fill(0);
  }
}

/**
 * The kid of the KEK that wrapped an envelope, without decrypting it (for metrics on rotation
 * progress and for the `keyId` field of raw envelopes).
 *
 * @throws PipelineError DECRYPT_FAILED when the envelope is malformed.
 */
export function keyIdOf(envelope: Buffer): string {
  return parseEnvelope(envelope).kid;
}

interface EnvelopeParts {
  readonly header: Buffer;
  readonly kid: string;
  /** Everything the payload tag authenticates besides the caller AAD. */
  readonly prefix: Buffer;
  readonly wrapIv: Buffer;
  readonly wrappedDek: Buffer;
  readonly wrapTag: Buffer;
  readonly dataIv: Buffer;
  readonly dataTag: Buffer;
  readonly ciphertext: Buffer;
}

function encodeHeader(kid: string): Buffer {
  const kidBytes = Buffer.from(kid, 'ascii');
  return Buffer.concat([Buffer.from([ENVELOPE_VERSION, kidBytes.length]), kidBytes]);
}

function parseEnvelope(envelope: Buffer): EnvelopeParts {
  if (!Buffer.isBuffer(envelope) || envelope.length < 2) {
    throw decryptError('envelope is truncated');
  }
  const version = envelope[0];
  if (version !== ENVELOPE_VERSION) {
    throw decryptError(`unsupported envelope version ${String(version)}`);
  }
  const kidLength = envelope[1] ?? 0;
  const headerLength = 2 + kidLength;
  if (kidLength === 0 || envelope.length < headerLength + FIXED_TAIL) {
    throw decryptError('envelope is truncated');
  }
  const kid = envelope.toString('latin1', 2, headerLength);
  if (!isValidKid(kid)) {
    throw decryptError('envelope carries a malformed key id');
  }
  let offset = headerLength;
  const take = (n: number): Buffer => {
    const slice = envelope.subarray(offset, offset + n);
    offset += n;
    return slice;
  };
  const wrapIv = take(IV_BYTES);
  const wrappedDek = take(KEY_BYTES);
  const wrapTag = take(TAG_BYTES);
  const prefix = envelope.subarray(0, offset);
  const dataIv = take(IV_BYTES);
  const dataTag = take(TAG_BYTES);
  return {
    header: envelope.subarray(0, headerLength),
    kid,
    prefix,
    wrapIv,
    wrappedDek,
    wrapTag,
    dataIv,
    dataTag,
    ciphertext: envelope.subarray(offset),
  };
}

/** `head` then `tail`; GCM's final() yields nothing, and then `head` is returned without a copy. */
function joined(head: Buffer, tail: Buffer): Buffer {
  return tail.length === 0 ? head : Buffer.concat([head, tail]);
}

function dataAad(prefix: Buffer, aad: Buffer | undefined): Buffer {
  // The prefix has a self-describing length, so prefix || aad cannot be ambiguous.
  return aad === undefined || aad.length === 0 ? prefix : Buffer.concat([prefix, aad]);
}

function requireKey(ring: Keyring, kid: string): KeyObject {
  const key = ring.keyOf(kid);
  if (key === undefined) {
    // Only reachable with a hand-built ring object; parseKeyring/createKeyring guarantee it.
    throw new PipelineError('KEY_MISSING', 'the active key id has no key in the keyring', {
      context: { kid },
    });
  }
  return key;
}

function decryptError(message: string, kid?: string): PipelineError {
  return new PipelineError('DECRYPT_FAILED', message, { context: kid === undefined ? {} : { kid } });
}
