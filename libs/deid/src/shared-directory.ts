import { pseudonym } from '@ehrflow/phi';
import {
  compileHashedIdentifiers,
  createIdentifierHasher,
  hashIdentifiers,
  isHashedEntry,
} from './hashed-identifiers.ts';
import type { KnownIdentifiers } from './known-identifiers.ts';
import type { DirectorySnapshot, IdentifierPair, PatientDirectory } from './patient-directory.ts';

/**
 * Where a shared directory keeps its digests (Redis in the redactor). Keys are pseudonyms of the
 * directory subject; values are sets of `KIND:digest` entries. Nothing stored is PHI.
 */
export interface DirectoryStore {
  /** The entries of each key, in order; an empty array for a key the store does not hold. */
  fetch(keys: readonly string[]): Promise<string[][]>;
  /** Adds entries to each key's set (a union: earlier versions of a patient stay matched). */
  add(entries: ReadonlyMap<string, readonly string[]>): Promise<void>;
}

/** A directory shared by every replica through a store, on top of this process's own memory. */
export interface SharedPatientDirectory extends PatientDirectory {
  /**
   * Loads from the store the patients among `subjects` this process does not know, for `recall`
   * until the next prefetch (call it once per batch, before de-identifying the batch).
   *
   * @throws what the store throws (a transient error: retry the batch).
   */
  prefetch(subjects: Iterable<string>): Promise<void>;
  /**
   * Stores the digests of the patients remembered since the last successful flush (call it after
   * de-identifying a batch, before its outputs are acknowledged).
   *
   * @throws what the store throws; the pending digests are kept for the next flush.
   */
  flush(): Promise<void>;
}

export interface SharedPatientDirectoryOptions {
  /** This process's own memory (identifiers in clear, fast matching); consulted first. */
  readonly local: PatientDirectory;
  readonly store: DirectoryStore;
  /** `PSEUDONYM_KEY`: store keys are its pseudonyms, digests are keyed by a key derived from it. */
  readonly pseudonymKey: Buffer;
}

/** Pseudonym namespace of store keys. */
const STORE_KEY_NAMESPACE = 'deid-directory';

/**
 * Creates a directory that survives restarts and is shared by replicas without putting PHI in the
 * store: a Patient record adds keyed digests of its identifier forms to the store (see
 * `hashed-identifiers.ts`), and a record whose patient this process has not seen is matched
 * against the digests another replica (or an earlier run) stored. A patient neither knows stays
 * unknown, and the free text of their records is withheld.
 */
export function createSharedPatientDirectory(options: SharedPatientDirectoryOptions): SharedPatientDirectory {
  const { local, store, pseudonymKey } = options;
  const hasher = createIdentifierHasher(pseudonymKey);
  const keyOf = (subject: string): string => pseudonym(pseudonymKey, STORE_KEY_NAMESPACE, subject);
  /** Patients remembered since the last flush: store key → digest entries. */
  let pending = new Map<string, Set<string>>();
  /** Patients loaded by the last prefetch: subject → matcher. */
  let fetched = new Map<string, KnownIdentifiers>();
  /** The digest entries behind `fetched`, for snapshots. */
  let fetchedEntries = new Map<string, DirectorySnapshot>();

  return {
    remember(subject: string, identifiers: readonly IdentifierPair[]): void {
      local.remember(subject, identifiers);
      const key = keyOf(subject);
      const entries = pending.get(key) ?? new Set<string>();
      for (const entry of hashIdentifiers(hasher, identifiers)) entries.add(entry);
      pending.set(key, entries);
      fetched.delete(subject);
      fetchedEntries.delete(subject);
    },
    recall(subject: string): KnownIdentifiers | undefined {
      return local.recall(subject) ?? fetched.get(subject);
    },
    snapshot(subject: string): DirectorySnapshot | undefined {
      const own = local.snapshot?.(subject);
      if (own !== undefined) return own;
      return fetchedEntries.get(subject);
    },
    get size(): number {
      return local.size;
    },
    get compiled(): number | undefined {
      return local.compiled;
    },
    async prefetch(subjects: Iterable<string>): Promise<void> {
      const wanted = [...new Set(subjects)].filter((s) => local.recall(s) === undefined);
      const next = new Map<string, KnownIdentifiers>();
      const nextEntries = new Map<string, DirectorySnapshot>();
      if (wanted.length > 0) {
        const sets = await store.fetch(wanted.map(keyOf));
        wanted.forEach((subject, i) => {
          const entries = (sets[i] ?? []).filter(isHashedEntry);
          if (entries.length > 0) {
            next.set(subject, compileHashedIdentifiers(hasher, entries));
            nextEntries.set(subject, { hashed: entries });
          }
        });
      }
      fetched = next;
      fetchedEntries = nextEntries;
    },
    async flush(): Promise<void> {
      if (pending.size === 0) return;
      const batch = pending;
      pending = new Map();
      try {
        await store.add(new Map([...batch].map(([key, set]) => [key, [...set]])));
      } catch (err) {
        for (const [key, set] of batch) {
          const merged = pending.get(key) ?? new Set<string>();
          for (const entry of set) merged.add(entry);
          pending.set(key, merged);
        }
        throw err;
      }
    },
  };
}
