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
  const cache = cacheOf(key);
  // The namespace's length first, so (namespace, value) pairs stay unambiguous as one string.
  const id = `${namespace.length}:${namespace}${value}`;
  const cached = cache.young.get(id);
  if (cached !== undefined) return cached;
  // 24 bytes are exactly the first 32 base64url characters of the digest.
  const found = cache.old.get(id) ?? digest(key, namespace, value).toString('base64url', 0, PSEUDONYM_BYTES);
  if (cache.young.size >= CACHE_GENERATION_ENTRIES) {
    cache.old = cache.young;
    cache.young = new Map();
  }
  cache.young.set(id, found);
  return found;
}

/** Bytes of the digest a pseudonym shows (PSEUDONYM_LENGTH base64url characters). */
const PSEUDONYM_BYTES = (PSEUDONYM_LENGTH * 3) / 4;

/**
 * Pseudonyms computed lately, per key, in two generations of at most this many entries (the
 * older generation is dropped whole when the younger fills): the same value recurs record after
 * record — the partition key of each of a patient's resources, `Patient/<id>` in every clinical
 * record — and an HMAC costs a few microseconds. Like the identifier hasher's digest cache
 * (`@ehrflow/deid`), it holds values only in this process's memory, where the records are.
 */
const CACHE_GENERATION_ENTRIES = 4_096;

interface PseudonymCache {
  young: Map<string, string>;
  old: Map<string, string>;
}

const caches = new WeakMap<Buffer, PseudonymCache>();

function cacheOf(key: Buffer): PseudonymCache {
  let cache = caches.get(key);
  if (cache === undefined) {
    cache = { young: new Map(), old: new Map() };
    caches.set(key, cache);
  }
  return cache;
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
