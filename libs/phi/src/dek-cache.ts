import type { KeyObject } from 'node:crypto';

/** Counters of a data-key cache; counts only, safe to log or export as metrics. */
export interface DekCacheStats {
  readonly size: number;
  readonly capacity: number;
  readonly hits: number;
  readonly misses: number;
}

/**
 * A bounded LRU of unwrapped data keys (DEKs), so the fields of one record, which share one
 * wrapped DEK, cost one unwrap between them.
 *
 * Soundness: unwrapping is a deterministic function of (KEK, wrapped-key bytes) — the same inputs
 * either give the same DEK or fail authentication. An entry is therefore keyed by every byte the
 * unwrap authenticated (version, kid, wrap IV, wrapped DEK, wrap tag) and remembers the KEK object
 * that opened it; a lookup under any other KEK object (another ring, a ring with the same kid but
 * other key bytes, a rotated-out key) is a miss and goes through a real unwrap, which fails.
 *
 * Keys are `KeyObject`s held in a closure: nothing enumerable or printable carries key material.
 */
export interface DekCache {
  /** The DEK cached for these wrapped-key bytes under this exact KEK, or undefined. */
  get(kek: KeyObject, wrapped: Buffer): KeyObject | undefined;
  /** Remembers a DEK that `kek` successfully unwrapped from `wrapped`; evicts the least recently used beyond capacity. */
  set(kek: KeyObject, wrapped: Buffer, dek: KeyObject): void;
  stats(): DekCacheStats;
}

/** Default capacity: far more than the records in flight between two fields of one record. */
export const DEK_CACHE_CAPACITY = 256;

/**
 * Creates a DEK cache holding at most `capacity` keys.
 *
 * @throws RangeError when capacity is not a positive integer (a programming error).
 */
export function createDekCache(capacity = DEK_CACHE_CAPACITY): DekCache {
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new RangeError('DEK cache capacity must be a positive integer');
  }
  // A Map iterates in insertion order: re-inserting on a hit makes the first entry the LRU one.
  const entries = new Map<string, { readonly kek: KeyObject; readonly dek: KeyObject }>();
  let hits = 0;
  let misses = 0;
  // latin1 maps each byte to one char, so the string is an exact, cheap image of the bytes.
  const keyOf = (wrapped: Buffer): string => wrapped.toString('latin1');

  return Object.freeze({
    get(kek: KeyObject, wrapped: Buffer): KeyObject | undefined {
      const id = keyOf(wrapped);
      const entry = entries.get(id);
      if (entry === undefined || entry.kek !== kek) {
        misses += 1;
        return undefined;
      }
      hits += 1;
      entries.delete(id);
      entries.set(id, entry);
      return entry.dek;
    },
    set(kek: KeyObject, wrapped: Buffer, dek: KeyObject): void {
      const id = keyOf(wrapped);
      entries.delete(id);
      entries.set(id, { kek, dek });
      while (entries.size > capacity) {
        const oldest = entries.keys().next();
        if (oldest.done === true) break;
        entries.delete(oldest.value);
      }
    },
    stats: (): DekCacheStats => ({ size: entries.size, capacity, hits, misses }),
  });
}
