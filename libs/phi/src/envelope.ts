import { createCipheriv, createDecipheriv } from 'node:crypto';
import { PipelineError } from '@ehrflow/errors';
import { KEY_BYTES, isValidKid, type Keyring } from './keyring.ts';
import { leaseDataKey } from './data-key-lease.ts';
import { createDekCache, type DekCacheStats } from './dek-cache.ts';
import { CIPHER, GCM_OPTIONS, IV_BYTES, TAG_BYTES, takeRandom, unwrap } from './record-cipher.ts';

/**
 * Envelope encryption: payloads are encrypted under a random 256-bit data key (DEK), and the DEK
 * is wrapped with the keyring's active key-encryption key (KEK). Both layers are AES-256-GCM.
 * Rotating the KEK therefore never requires re-encrypting payloads, only keeping the old kid in
 * the ring until the data it wrapped has expired. A DEK encrypts a bounded run of payloads
 * (`leaseDataKey`: at most 1,024 or for 60 s, each with its own random IV), so the wrap and the
 * readers' unwrap (cached) are paid once per run, not once per payload.
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
 * envelopes fails authentication. Random 96-bit nonces stay well inside the GCM limit (2^32
 * messages per key): a DEK encrypts at most 1,024 payloads, and the KEK wraps one DEK per run.
 *
 * @see https://nvlpubs.nist.gov/nistpubs/Legacy/SP/nistspecialpublication800-38d.pdf (GCM, section 8)
 */
export const ENVELOPE_VERSION = 1;

/** Bytes after the kid and before the ciphertext. */
const FIXED_TAIL = IV_BYTES + KEY_BYTES + TAG_BYTES + IV_BYTES + TAG_BYTES;

/**
 * Encrypts a payload for the keyring's active key. `aad` is authenticated but not stored: the
 * same bytes must be given to `decryptPayload` (bind a payload to its record id, for example).
 */
export function encryptPayload(ring: Keyring, plaintext: Buffer, aad?: Buffer): Buffer {
  const { keyBlock, dek } = leaseDataKey(ring, ENVELOPE_VERSION);
  // The envelope is assembled in place, in one buffer: no concatenation per part.
  const dataIvAt = keyBlock.length;
  const dataTagAt = dataIvAt + IV_BYTES;
  const ciphertextAt = dataTagAt + TAG_BYTES;
  const envelope = Buffer.allocUnsafe(ciphertextAt + plaintext.length);
  envelope.set(keyBlock, 0);
  // The IV from the pooled CSPRNG bytes: a randomBytes call costs more than a short encryption.
  takeRandom(envelope, dataIvAt, IV_BYTES);
  const cipher = createCipheriv(CIPHER, dek, envelope.subarray(dataIvAt, dataTagAt), GCM_OPTIONS);
  cipher.setAAD(dataAad(keyBlock, aad));
  const body = cipher.update(plaintext);
  envelope.set(body, ciphertextAt);
  const rest = cipher.final(); // empty for GCM; it computes the tag
  if (rest.length > 0) envelope.set(rest, ciphertextAt + body.length);
  envelope.set(cipher.getAuthTag(), dataTagAt);
  return envelope;
}

/** Unwrapped DEKs of payload envelopes, so the envelopes that share a DEK cost one unwrap. */
const payloadKeys = createDekCache();

/** Counters of the process-wide cache of unwrapped payload DEKs (for metrics and tests). */
export function payloadKeyCacheStats(): DekCacheStats {
  return payloadKeys.stats();
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
  try {
    // The cache is keyed by every byte the unwrap authenticates and by the KEK object: a miss
    // (another ring, a tampered key block) goes through a real unwrap, which fails.
    let dek = payloadKeys.get(kek, parts.prefix);
    if (dek === undefined) {
      dek = unwrap(kek, parts.prefix, parts.header.length);
      payloadKeys.set(kek, parts.prefix, dek);
    }
    const decipher = createDecipheriv(CIPHER, dek, parts.dataIv, GCM_OPTIONS);
    decipher.setAAD(dataAad(parts.prefix, aad));
    decipher.setAuthTag(parts.dataTag);
    return joined(decipher.update(parts.ciphertext), decipher.final());
  } catch {
    // node:crypto says "unable to authenticate data"; which layer failed is not worth a hint.
    throw decryptError('envelope failed authentication (tampered data, wrong key or wrong AAD)', parts.kid);
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

function decryptError(message: string, kid?: string): PipelineError {
  return new PipelineError('DECRYPT_FAILED', message, { context: kid === undefined ? {} : { kid } });
}
