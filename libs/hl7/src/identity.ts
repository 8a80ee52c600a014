import { createHash, createHmac } from 'node:crypto';
import type { Hl7Header } from './message.ts';

/**
 * The identity of a message for deduplication: (sending application, sending facility, MSH-10).
 * HL7 makes MSH-10 unique per sender, and a resend after a lost ACK carries the same one.
 * @see HL7 v2.5.1 section 2.14.9.10 (MSH-10 message control id)
 */
export function messageIdentity(
  header: Pick<Hl7Header, 'sendingApplication' | 'sendingFacility' | 'controlId'>,
): string {
  return [header.sendingApplication, header.sendingFacility, header.controlId].join('\u0000');
}

/**
 * Deterministic record id of an HL7 message: the first 32 hex characters of
 * SHA-256(sourceId \0 "HL7V2" \0 identity), so a resend that slips past the dedupe window still
 * carries the record id of the first copy and downstream upserts absorb it.
 */
export function hl7RecordId(
  sourceId: string,
  header: Pick<Hl7Header, 'sendingApplication' | 'sendingFacility' | 'controlId'>,
): string {
  return createHash('sha256')
    .update(`${sourceId}\u0000HL7V2\u0000${messageIdentity(header)}`)
    .digest('hex')
    .slice(0, 32);
}

/**
 * Keyed digest of a message identity for Redis keys: an HMAC, so a key never carries the
 * sender's ids or control id and cannot be recomputed without the key.
 */
export function identityDigest(
  key: Buffer,
  sourceId: string,
  header: Pick<Hl7Header, 'sendingApplication' | 'sendingFacility' | 'controlId'>,
): string {
  return createHmac('sha256', key)
    .update(`hl7-dedupe\u0000${sourceId}\u0000${messageIdentity(header)}`)
    .digest('base64url')
    .slice(0, 32);
}

/** A control id safe to show in logs and locators (HL7 ST, max 20 chars), or a short hash of it. */
export function printableControlId(controlId: string): string {
  if (/^[A-Za-z0-9._-]{1,20}$/.test(controlId)) return controlId;
  return `h:${createHash('sha256').update(controlId).digest('hex').slice(0, 12)}`;
}
