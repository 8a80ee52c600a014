import type { KeyObject } from 'node:crypto';
import type { Keyring } from './keyring.ts';
import { activeKeyOf, encodeHeader, wrapFreshDataKey } from './record-cipher.ts';

/**
 * How many payloads (or sealed records) one data key (DEK) encrypts before a fresh one is drawn
 * and wrapped. Each use has its own random 96-bit IV: 1,024 uses put the chance of an IV
 * collision under one DEK near 2^-77, and an unwrapped DEK opens at most this many records.
 */
export const DATA_KEY_MAX_USES = 1024;
/** How long one DEK is used at most, however few records it encrypted. */
export const DATA_KEY_MAX_AGE_MS = 60_000;

/** A DEK and its key block (version, kid length, kid, wrap IV, wrapped DEK, wrap tag). */
export interface LeasedDataKey {
  /** Shared by every use of the DEK: copy it, never write into it. */
  readonly keyBlock: Buffer;
  readonly dek: KeyObject;
}

interface Lease extends LeasedDataKey {
  readonly kek: KeyObject;
  readonly kid: string;
  uses: number;
  readonly expiresAt: number;
}

/** The current lease per format version (1: payload envelopes, 3: sealed fields). */
const leases = new Map<number, Lease>();

/**
 * The DEK to encrypt one payload or record with under the ring's active key, in format
 * `version`: the current one while it has uses and time left and the active key is the one that
 * wrapped it, otherwise a fresh random DEK wrapped once (AES-256-GCM, AAD = version, kid length,
 * kid). Wrapping is a cipher set-up of its own, as costly as encrypting a 1.5 KB payload; a
 * bounded reuse makes it rare, and readers cache what they unwrapped (`dek-cache.ts`), so they
 * skip the unwrap as well. A key rotation (another active kid, or other key bytes under the
 * same kid) takes effect at the next call. The version is authenticated by the wrap, so a DEK of
 * one format can never be passed off in another.
 *
 * @throws PipelineError KEY_MISSING when the ring has no key for its active kid.
 */
export function leaseDataKey(ring: Keyring, version: number, now: number = Date.now()): LeasedDataKey {
  const { kid, kek } = activeKeyOf(ring);
  let lease = leases.get(version);
  if (
    lease === undefined ||
    lease.kek !== kek ||
    lease.kid !== kid ||
    lease.uses >= DATA_KEY_MAX_USES ||
    now >= lease.expiresAt
  ) {
    lease = newLease(kek, kid, version, now);
    leases.set(version, lease);
  }
  lease.uses += 1;
  return lease;
}

function newLease(kek: KeyObject, kid: string, version: number, now: number): Lease {
  const { keyBlock, dek } = wrapFreshDataKey(kek, encodeHeader(kid, version));
  return { kek, kid, keyBlock, dek, uses: 0, expiresAt: now + DATA_KEY_MAX_AGE_MS };
}
