import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { PipelineError } from '@ehrflow/errors';

/** Minimum pseudonym key length: HMAC-SHA256 gains nothing beyond its block size, loses below 32. */
export const MIN_PSEUDONYM_KEY_BYTES = 32;
/** Length of a pseudonym in base64url characters (192 bits). */
export const PSEUDONYM_LENGTH = 32;

const BASE64_PATTERN = /^[A-Za-z0-9+/]+={0,2}$/;
const PARTITION_NAMESPACE = 'patient';
const DATE_SHIFT_NAMESPACE = 'date-shift';

/**
 * Decodes the pseudonym key (`PSEUDONYM_KEY`, standard base64). Required, never defaulted: a
 * random fallback would give every replica different pseudonyms and break joins and partitioning.
 *
 * @throws PipelineError KEY_MISSING when the key is absent, not base64, or shorter than 32 bytes.
 */
export function parsePseudonymKey(base64: string | undefined): Buffer {
  const text = base64?.trim() ?? '';
  if (text === '') {
    throw new PipelineError('KEY_MISSING', 'pseudonym key is empty');
  }
  if (text.length % 4 !== 0 || !BASE64_PATTERN.test(text)) {
    throw new PipelineError('KEY_MISSING', 'pseudonym key is not valid base64');
  }
  const key = Buffer.from(text, 'base64');
  if (key.length < MIN_PSEUDONYM_KEY_BYTES) {
    throw new PipelineError(
      'KEY_MISSING',
      `pseudonym key must be at least ${MIN_PSEUDONYM_KEY_BYTES} bytes, got ${key.length}`,
    );
  }
  return key;
}

/**
 * A keyed, stable pseudonym: HMAC-SHA256 over (namespace, value), base64url, first 32 characters.
 * The same key gives the same output in every process; without the key it cannot be reversed or
 * recomputed from a guessed value. Namespaces keep pseudonyms of different kinds (patient id,
 * MRN, claim number) unlinkable to each other.
 */
export function pseudonym(key: Buffer, namespace: string, value: string): string {
  return digest(key, namespace, value).toString('base64url').slice(0, PSEUDONYM_LENGTH);
}

/**
 * The Kafka message key of a patient's records: a pseudonym of `<sourceId>/<patientId>`, so all
 * records of one patient land on one partition (ordering) without the id appearing in clear.
 */
export function partitionKey(key: Buffer, sourceId: string, patientId: string): string {
  return pseudonym(key, PARTITION_NAMESPACE, `${sourceId}/${patientId}`);
}

/**
 * Per-subject date shift in days, in `[-maxDays, maxDays]` and never 0 (a zero shift would leave
 * a subject's dates intact). Deterministic for a key and subject, so every date of one patient
 * moves by the same amount and intervals between them are preserved.
 *
 * @param subject Typically the patient's partition key or `<sourceId>/<patientId>`.
 * @throws PipelineError POLICY_INVALID when maxDays is not an integer in 1..36500.
 */
export function dateShiftDays(key: Buffer, subject: string, maxDays: number): number {
  if (!Number.isInteger(maxDays) || maxDays < 1 || maxDays > 36_500) {
    throw new PipelineError('POLICY_INVALID', 'date shift maxDays must be an integer between 1 and 36500', {
      context: { maxDays },
    });
  }
  // 48 bits reduced modulo at most 73000 values: the bias is below 2^-31, irrelevant here.
  const draw = digest(key, DATE_SHIFT_NAMESPACE, subject).readUIntBE(0, 6) % (2 * maxDays);
  // 0..maxDays-1 → -maxDays..-1, maxDays..2*maxDays-1 → 1..maxDays
  return draw < maxDays ? draw - maxDays : draw - maxDays + 1;
}

function digest(key: Buffer, namespace: string, value: string): Buffer {
  return createHmac('sha256', keyObjectOf(key)).update(prefixOf(namespace)).update(value, 'utf8').digest();
}

// A raw key Buffer costs node:crypto a key-type probe on every createHmac (about 17 µs a call
// on Node 24, against 3.5 µs with a KeyObject), and the redactor hashes several values per
// record: each key becomes a KeyObject once. Keyed by the Buffer itself, so the KeyObject goes
// when the key does; a KeyObject prints no key bytes.
const keyObjects = new WeakMap<Buffer, KeyObject>();

function keyObjectOf(key: Buffer): KeyObject {
  let object = keyObjects.get(key);
  if (object === undefined) {
    object = createSecretKey(key);
    keyObjects.set(key, object);
  }
  return object;
}

/** Namespaces are few (policy rules and `ref:<Type>`); the cache is bounded all the same. */
const MAX_PREFIXES = 1024;
const prefixes = new Map<string, Buffer>();

/** The length-prefixed namespace: the length prefix makes (namespace, value) pairs unambiguous. */
function prefixOf(namespace: string): Buffer {
  let prefix = prefixes.get(namespace);
  if (prefix === undefined) {
    const ns = Buffer.from(namespace, 'utf8');
    prefix = Buffer.alloc(4 + ns.length);
    prefix.writeUInt32BE(ns.length, 0);
    prefix.set(ns, 4);
    if (prefixes.size >= MAX_PREFIXES) prefixes.clear();
    prefixes.set(namespace, prefix);
  }
  return prefix;
}
