import { createSecretKey, type KeyObject } from 'node:crypto';
import { PipelineError } from '@ehrflow/errors';

/** Key ids travel in clear inside every envelope, so they are short, printable and PHI-free. */
const KID_PATTERN = /^[A-Za-z0-9._-]{1,32}$/;
/** Strict padded base64 (standard alphabet); a typo must fail, not decode to a shorter key. */
const BASE64_PATTERN = /^[A-Za-z0-9+/]+={0,2}$/;

/** AES-256 key length in bytes. */
export const KEY_BYTES = 32;

/**
 * A set of key-encryption keys. The last entry of the configured spec is the active key used for
 * new writes; every other key stays available for decryption, which is what makes rotation a
 * configuration change instead of a data migration.
 *
 * Key material is held in a closure, not on the object, so logging or serializing a keyring by
 * mistake shows only its key ids. Keys are handed out as `KeyObject`s, which node:crypto accepts
 * directly and which print as `SecretKeyObject { type: 'secret' }`, never as bytes.
 */
export interface Keyring {
  /** Key id used for new writes. */
  readonly activeKid: string;
  /** All key ids, in the order of the spec (oldest first). */
  readonly kids: readonly string[];
  /** The key of a kid, or undefined when this ring does not hold it. */
  keyOf(kid: string): KeyObject | undefined;
}

/**
 * Parses a keyring spec, `"kid1:<base64 32 bytes>,kid2:<base64 32 bytes>"`. Whitespace around
 * entries is ignored. Every problem names the entry (position and, when it is valid, its kid),
 * never key material, and there is no default: a missing spec fails instead of generating a
 * random key that another replica would not share.
 *
 * @throws PipelineError KEY_MISSING when the spec is missing or malformed.
 */
export function parseKeyring(spec: string | undefined): Keyring {
  if (spec === undefined || spec.trim() === '') {
    throw new PipelineError(
      'KEY_MISSING',
      'keyring spec is empty; expected "kid:<base64 key>[,kid:<base64 key>...]"',
    );
  }
  const entries: [string, Buffer][] = [];
  try {
    for (const [index, raw] of spec.split(',').entries()) {
      entries.push(parseEntry(raw.trim(), index + 1));
    }
    return createKeyring(entries);
  } finally {
    // The decoded bytes were copied into KeyObjects; do not leave spare copies on the heap.
    for (const [, key] of entries) key.fill(0);
  }
}

function parseEntry(part: string, position: number): [string, Buffer] {
  if (part === '') {
    throw keyError(`keyring entry #${position} is empty`, position);
  }
  const colon = part.indexOf(':');
  if (colon < 0) {
    // Without a colon the entry may be a bare key: say nothing about its content.
    throw keyError(`keyring entry #${position} has no "kid:" prefix`, position);
  }
  const kid = part.slice(0, colon);
  if (!KID_PATTERN.test(kid)) {
    throw keyError(
      `keyring entry #${position} has an invalid key id (expected [A-Za-z0-9._-]{1,32})`,
      position,
    );
  }
  return [kid, decodeKey(part.slice(colon + 1).trim(), kid, position)];
}

/**
 * Builds a keyring from (kid, key) pairs; the last pair is active. Used by `parseKeyring` and by
 * tests that need a ring without going through text.
 *
 * @throws PipelineError KEY_MISSING on an empty list, a duplicate or invalid kid, or a key that is not 32 bytes.
 */
export function createKeyring(entries: Iterable<readonly [string, Uint8Array]>): Keyring {
  const keys = new Map<string, KeyObject>();
  let position = 0;
  for (const [kid, key] of entries) {
    position += 1;
    if (!KID_PATTERN.test(kid)) {
      throw keyError(
        `keyring entry #${position} has an invalid key id (expected [A-Za-z0-9._-]{1,32})`,
        position,
      );
    }
    if (keys.has(kid)) {
      throw keyError(`keyring entry #${position} repeats key id "${kid}"`, position, kid);
    }
    if (key.length !== KEY_BYTES) {
      throw keyError(`key "${kid}" must be ${KEY_BYTES} bytes, got ${key.length}`, position, kid);
    }
    // createSecretKey copies, so a caller wiping or reusing its buffer cannot change the ring.
    keys.set(kid, createSecretKey(key));
  }
  const kids = Object.freeze([...keys.keys()]);
  const activeKid = kids.at(-1);
  if (activeKid === undefined) {
    throw new PipelineError('KEY_MISSING', 'keyring has no keys');
  }
  const ring: Keyring = {
    activeKid,
    kids,
    keyOf: (kid) => keys.get(kid),
  };
  return Object.freeze(ring);
}

/** Whether a string is acceptable as a key id (also used to vet kids read back from envelopes). */
export function isValidKid(kid: string): boolean {
  return KID_PATTERN.test(kid);
}

function decodeKey(text: string, kid: string, position: number): Buffer {
  if (text === '' || text.length % 4 !== 0 || !BASE64_PATTERN.test(text)) {
    throw keyError(`key "${kid}" is not valid base64`, position, kid);
  }
  const key = Buffer.from(text, 'base64');
  if (key.length !== KEY_BYTES) {
    throw keyError(`key "${kid}" must be ${KEY_BYTES} bytes, got ${key.length}`, position, kid);
  }
  return key;
}

function keyError(message: string, entry: number, kid?: string): PipelineError {
  return new PipelineError('KEY_MISSING', message, {
    context: kid === undefined ? { entry } : { entry, kid },
  });
}
