import { PipelineError } from '@ehrflow/errors';
import { decryptPayload, encryptPayload } from './envelope.ts';
import type { Keyring } from './keyring.ts';

/** Prefix of every encrypted field value; the version lets the format change without guessing. */
export const ENCRYPTED_FIELD_PREFIX = 'enc:v1:';

const FIELD_PATTERN = /^enc:v1:[A-Za-z0-9_-]+$/;

/**
 * Encrypts one string value of an Avro record (a PHI-tagged field in `ehr.valid.*`). The result
 * is `"enc:v1:" + base64url(envelope)`, so the field keeps its Avro `string` type.
 *
 * @param aad Optional context bound to the value, e.g. `"<recordId>/<field path>"`, so a value
 *   cannot be moved to another record or field without failing decryption.
 */
export function encryptField(ring: Keyring, value: string, aad?: string): string {
  const envelope = encryptPayload(ring, Buffer.from(value, 'utf8'), aadBytes(aad));
  return ENCRYPTED_FIELD_PREFIX + envelope.toString('base64url');
}

/**
 * Decrypts a value made by `encryptField` (with the same `aad`).
 *
 * @throws PipelineError DECRYPT_FAILED when the value is not an encrypted field, its key is not in
 *   the ring, or it fails authentication.
 */
export function decryptField(ring: Keyring, encrypted: string, aad?: string): string {
  if (!isEncryptedField(encrypted)) {
    // Deliberately no excerpt: a plaintext value here is exactly the PHI we must not echo.
    throw new PipelineError(
      'DECRYPT_FAILED',
      'value is not an encrypted field (expected "enc:v1:<base64url>")',
    );
  }
  const envelope = Buffer.from(encrypted.slice(ENCRYPTED_FIELD_PREFIX.length), 'base64url');
  return decryptPayload(ring, envelope, aadBytes(aad)).toString('utf8');
}

/** Whether a value has the shape of an encrypted field (it may still fail to decrypt). */
export function isEncryptedField(value: unknown): value is string {
  return typeof value === 'string' && FIELD_PATTERN.test(value);
}

function aadBytes(aad: string | undefined): Buffer | undefined {
  return aad === undefined ? undefined : Buffer.from(aad, 'utf8');
}
