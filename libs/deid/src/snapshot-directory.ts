import { compileHashedIdentifiers, createIdentifierHasher } from './hashed-identifiers.ts';
import { compileKnownIdentifiers, type KnownIdentifiers } from './known-identifiers.ts';
import type { DirectorySnapshot, PatientDirectory } from './patient-directory.ts';

/**
 * The patient directory of a worker thread, for one record at a time: it knows exactly the
 * snapshot the main thread took for that record (`Deidentifier.directoryStep`, in record order)
 * and remembers nothing — the main thread's directory already remembered each Patient before the
 * records after it were snapshotted, so a worker sees what the inline path would have seen.
 */
export interface SnapshotDirectory extends PatientDirectory {
  /** What it knows for the next record: its patient's snapshot, or nothing. */
  use(step: { readonly subject: string; readonly snapshot: DirectorySnapshot } | undefined): void;
}

export function createSnapshotDirectory(pseudonymKey: Buffer): SnapshotDirectory {
  const hasher = createIdentifierHasher(pseudonymKey);
  // Records of one patient in one task share one snapshot object (structured clone keeps shared
  // references), so its matcher is compiled once per task.
  const compiled = new WeakMap<DirectorySnapshot, KnownIdentifiers>();
  let current: { readonly subject: string; readonly snapshot: DirectorySnapshot } | undefined;
  return {
    use(step) {
      current = step;
    },
    remember() {
      // Done on the main thread, in record order.
    },
    recall(subject) {
      if (current === undefined || current.subject !== subject) return undefined;
      const { snapshot } = current;
      let known = compiled.get(snapshot);
      if (known === undefined) {
        known =
          'values' in snapshot
            ? compileKnownIdentifiers(snapshot.values)
            : compileHashedIdentifiers(hasher, snapshot.hashed);
        compiled.set(snapshot, known);
      }
      return known;
    },
    snapshot: (subject) => (current?.subject === subject ? current.snapshot : undefined),
    get size() {
      return current === undefined ? 0 : 1;
    },
  };
}
