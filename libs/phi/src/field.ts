import { PipelineError } from '@ehrflow/errors';
import { decryptPayload, encryptPayload, keyIdOf } from './envelope.ts';
import type { Keyring } from './keyring.ts';
import { ENCRYPTED_FIELD_PREFIX_V2, decryptFieldV2, keyIdOfFieldV2 } from './record-cipher.ts';
import { ENCRYPTED_FIELD_PREFIX_V3, decryptRecordFields, keyIdOfSealed } from './sealed-fields.ts';

/** Prefix of a version-1 encrypted field (`encryptField`); v2 fields (`createRecordCipher`) start `enc:v2:`. */
export const ENCRYPTED_FIELD_PREFIX = 'enc:v1:';

// Every prefix has the same length, which callers slicing the body off rely on.
const PREFIX_LENGTH = ENCRYPTED_FIELD_PREFIX.length;
const FIELD_PATTERN = /^enc:v[123]:[A-Za-z0-9_-]+$/;

/**
 * Encrypts one string value as a self-contained version-1 field: `"enc:v1:" + base64url(envelope)`
 * with its own data key, so the field keeps its Avro `string` type. To encrypt several fields of
 * one record, `createRecordCipher` is an order of magnitude faster.
 *
 * @param aad Optional context bound to the value, e.g. `"<recordId>/<field path>"`, so a value
 *   cannot be moved to another record or field without failing decryption.
 */
export function encryptField(ring: Keyring, value: string, aad?: string): string {
  const envelope = encryptPayload(ring, Buffer.from(value, 'utf8'), aadBytes(aad));
  return ENCRYPTED_FIELD_PREFIX + envelope.toString('base64url');
}

/**
 * Decrypts a field made by `encryptField` (`enc:v1:`) or by a record cipher (`enc:v2:`), with the
 * same `aad` and any key of the ring. Unwrapped v2 data keys are kept in a small bounded cache,
 * so the fields of one record cost one unwrap.
 *
 * @throws PipelineError DECRYPT_FAILED when the value is not an encrypted field, its key is not in
 *   the ring, or it fails authentication.
 */
export function decryptField(ring: Keyring, encrypted: string, aad?: string): string {
  if (!isEncryptedField(encrypted)) {
    // Deliberately no excerpt: a plaintext value here is exactly the PHI we must not echo.
    throw new PipelineError(
      'DECRYPT_FAILED',
      'value is not an encrypted field (expected "enc:v1:<base64url>" or "enc:v2:<base64url>")',
    );
  }
  const body = encrypted.slice(PREFIX_LENGTH);
  if (encrypted.startsWith(ENCRYPTED_FIELD_PREFIX_V2)) return decryptFieldV2(ring, body, aad);
  if (encrypted.startsWith(ENCRYPTED_FIELD_PREFIX_V3)) {
    throw new PipelineError(
      'DECRYPT_FAILED',
      'an enc:v3: value is sealed with the other PHI values of its record: open the record (openSealedFields)',
    );
  }
  return decryptPayload(ring, Buffer.from(body, 'base64url'), aadBytes(aad)).toString('utf8');
}

/**
 * Whether a value has the shape of an encrypted field: v1, v2, or a v3 sealed value (the
 * record's block or a reference to it). It may still fail to decrypt.
 */
export function isEncryptedField(value: unknown): value is string {
  return typeof value === 'string' && FIELD_PATTERN.test(value);
}

/**
 * The kid of the KEK that protects an encrypted field (v1 or v2), without decrypting it — for
 * rotation metrics and leak scans.
 *
 * @throws PipelineError DECRYPT_FAILED when the value is not a well-formed encrypted field.
 */
export function fieldKeyId(encrypted: string): string {
  if (!isEncryptedField(encrypted)) {
    throw new PipelineError('DECRYPT_FAILED', 'value is not an encrypted field');
  }
  const body = encrypted.slice(PREFIX_LENGTH);
  if (encrypted.startsWith(ENCRYPTED_FIELD_PREFIX_V3)) return keyIdOfSealed(encrypted);
  return encrypted.startsWith(ENCRYPTED_FIELD_PREFIX_V2)
    ? keyIdOfFieldV2(body)
    : keyIdOf(Buffer.from(body, 'base64url'));
}

function aadBytes(aad: string | undefined): Buffer | undefined {
  return aad === undefined ? undefined : Buffer.from(aad, 'utf8');
}

/**
 * A copy of a record with every encrypted top-level value decrypted: the record's sealed
 * `enc:v3:` values in one operation, `enc:v1:`/`enc:v2:` values one by one. Other values are kept.
 *
 * @throws PipelineError DECRYPT_FAILED naming the field or kid, never a value.
 */
export function decryptRecord(
  ring: Keyring,
  record: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  return decryptRecordFields(ring, record, (r, v) => decryptField(r, v));
}
