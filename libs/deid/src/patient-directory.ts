import { compileKnownIdentifiers, type IdentifierKind, type KnownIdentifiers } from './known-identifiers.ts';

/** One identifier value and its kind. */
export type IdentifierPair = readonly [IdentifierKind, string];

/**
 * What is known of each patient's identifiers, learnt from Patient records and consulted when
 * scrubbing the free text of the patient's other records (an Observation note that names the
 * patient carries no name field of its own).
 *
 * It also decides whether free text may be published at all: a record whose patient the
 * directory does not know has its free text withheld (see `createDeidentifier`), because pattern
 * detectors alone cannot find a bare name.
 *
 * Subjects are `directorySubject` strings (`<sourceId>/Patient/<id>`): logical ids are unique
 * within one source only, so a patient is never "known" through another site's namesake.
 */
export interface PatientDirectory {
  /** Adds a patient's identifiers to what is known of them (earlier values are kept). */
  remember(subject: string, identifiers: readonly IdentifierPair[]): void;
  /**
   * A matcher for what is known of a patient (possibly matching nothing, when their Patient
   * record carried no identifier); undefined when the patient is unknown.
   */
  recall(subject: string): KnownIdentifiers | undefined;
  /**
   * What is known of a patient as plain data (structured-cloneable), for a worker thread that
   * de-identifies the patient's records (`createSnapshotDirectory`); undefined when unknown.
   */
  snapshot?(subject: string): DirectorySnapshot | undefined;
  /** Patients held. */
  readonly size: number;
}

/**
 * What a directory knows of one patient, as data: the identifier values this process learnt, or
 * the digest entries another replica shared (`createSharedPatientDirectory`).
 */
export type DirectorySnapshot =
  { readonly values: readonly IdentifierPair[] } | { readonly hashed: readonly string[] };

/** Identifier values kept per patient: the current ones and a few earlier versions. */
const MAX_VALUES_PER_PATIENT = 256;

interface Entry {
  readonly values: Map<string, IdentifierPair>;
  matcher: KnownIdentifiers | undefined;
  /** The same object until the patient is remembered again (a worker compiles it once per chunk). */
  snapshot: DirectorySnapshot | undefined;
}

/**
 * Creates an in-memory directory holding at most `maxPatients` patients (least recently
 * remembered go first). Values stay in process memory (never logged, never persisted); the
 * matcher of a patient is compiled once and reused until they are remembered again.
 *
 * @throws RangeError when `maxPatients` is not a positive integer (a programming error).
 */
export function createPatientDirectory(maxPatients: number): PatientDirectory {
  if (!Number.isInteger(maxPatients) || maxPatients < 1)
    throw new RangeError('maxPatients must be a positive integer');
  const entries = new Map<string, Entry>();
  return {
    remember(subject, identifiers) {
      const entry = entries.get(subject) ?? {
        values: new Map<string, IdentifierPair>(),
        matcher: undefined,
        snapshot: undefined,
      };
      entries.delete(subject);
      for (const [kind, value] of identifiers) {
        const id = `${kind}\0${value}`;
        // Re-inserted values move to the end, so the oldest are the first to go over the cap.
        entry.values.delete(id);
        entry.values.set(id, [kind, value]);
      }
      for (const id of entry.values.keys()) {
        if (entry.values.size <= MAX_VALUES_PER_PATIENT) break;
        entry.values.delete(id);
      }
      entry.matcher = undefined;
      entry.snapshot = undefined;
      entries.set(subject, entry);
      if (entries.size > maxPatients) {
        const oldest = entries.keys().next().value;
        if (oldest !== undefined) entries.delete(oldest);
      }
    },
    recall(subject) {
      const entry = entries.get(subject);
      if (entry === undefined) return undefined;
      entry.matcher ??= compileKnownIdentifiers(entry.values.values());
      return entry.matcher;
    },
    snapshot(subject) {
      const entry = entries.get(subject);
      if (entry === undefined) return undefined;
      entry.snapshot ??= { values: [...entry.values.values()] };
      return entry.snapshot;
    },
    get size() {
      return entries.size;
    },
  };
}
