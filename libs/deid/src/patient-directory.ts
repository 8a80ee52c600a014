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
  /** Patients whose matcher is kept compiled (a bounded cache); absent when there is no such cache. */
  readonly compiled?: number;
}

/**
 * What a directory knows of one patient, as data: the identifier values this process learnt, or
 * the digest entries another replica shared (`createSharedPatientDirectory`).
 */
export type DirectorySnapshot =
  { readonly values: readonly IdentifierPair[] } | { readonly hashed: readonly string[] };

/** Identifier values kept per patient: the current ones and a few earlier versions. */
const MAX_VALUES_PER_PATIENT = 256;

/** Patients whose compiled matcher (and snapshot) are kept, by default: see {@link PatientDirectoryOptions}. */
export const DEFAULT_COMPILED_PATIENTS = 10_000;

export interface PatientDirectoryOptions {
  /**
   * Patients whose matcher (and snapshot) stay compiled, most recently used first. A patient
   * held but not among them costs one packed string (~300 bytes) instead of ~2 KB more, and is
   * compiled again (~15 µs) when next recalled. At least one chunk's patients should fit.
   */
  readonly compiledPatients?: number;
}

/** A patient's compiled forms, kept for the most recently used patients only. */
interface Compiled {
  matcher: KnownIdentifiers | undefined;
  /** The same object while the patient stays compiled (a worker compiles it once per chunk). */
  snapshot: DirectorySnapshot | undefined;
}

const KINDS: readonly IdentifierKind[] = ['NAME', 'DATE', 'PHONE', 'EMAIL', 'SSN', 'ADDRESS', 'ID'];
const KIND_CODE: ReadonlyMap<IdentifierKind, number> = new Map(KINDS.map((k, i) => [k, i]));

/**
 * A patient's values packed in one string, oldest first: per value its kind's code, its length
 * in two UTF-16 units, then the value itself. One string per patient instead of a Map of pairs.
 */
function pack(values: Iterable<IdentifierPair>): string {
  let out = '';
  for (const [kind, value] of values) {
    const n = value.length;
    out += String.fromCharCode(KIND_CODE.get(kind) ?? KINDS.length - 1, n >>> 16, n & 0xffff) + value;
  }
  return out;
}

function unpack(packed: string): IdentifierPair[] {
  const out: IdentifierPair[] = [];
  for (let i = 0; i < packed.length;) {
    const kind = KINDS[packed.charCodeAt(i)] ?? 'ID';
    const n = packed.charCodeAt(i + 1) * 0x10000 + packed.charCodeAt(i + 2);
    out.push([kind, packed.slice(i + 3, i + 3 + n)]);
    i += 3 + n;
  }
  return out;
}

/**
 * Creates an in-memory directory holding at most `maxPatients` patients (least recently
 * remembered go first). Values stay in process memory (never logged, never persisted), packed
 * one string per patient; the matchers of the `compiledPatients` most recently recalled patients
 * are kept compiled and reused until the patient is remembered again.
 *
 * @throws RangeError when `maxPatients` or `compiledPatients` is not a positive integer (a
 *   programming error).
 */
export function createPatientDirectory(
  maxPatients: number,
  options: PatientDirectoryOptions = {},
): PatientDirectory {
  if (!Number.isInteger(maxPatients) || maxPatients < 1)
    throw new RangeError('maxPatients must be a positive integer');
  const maxCompiled = options.compiledPatients ?? DEFAULT_COMPILED_PATIENTS;
  if (!Number.isInteger(maxCompiled) || maxCompiled < 1)
    throw new RangeError('compiledPatients must be a positive integer');
  /** Subject → packed values, least recently remembered first. */
  const entries = new Map<string, string>();
  /** Subject → compiled forms, least recently used first. */
  const compiled = new Map<string, Compiled>();

  const compiledOf = (subject: string): Compiled | undefined => {
    let c = compiled.get(subject);
    if (c !== undefined) {
      compiled.delete(subject);
    } else {
      if (!entries.has(subject)) return undefined;
      c = { matcher: undefined, snapshot: undefined };
      if (compiled.size >= maxCompiled) {
        const oldest = compiled.keys().next().value;
        if (oldest !== undefined) compiled.delete(oldest);
      }
    }
    compiled.set(subject, c);
    return c;
  };

  return {
    remember(subject, identifiers) {
      const previous = entries.get(subject);
      const values = new Map<string, IdentifierPair>();
      for (const pair of previous === undefined ? [] : unpack(previous))
        values.set(`${pair[0]}\0${pair[1]}`, pair);
      for (const [kind, value] of identifiers) {
        const id = `${kind}\0${value}`;
        // Re-inserted values move to the end, so the oldest are the first to go over the cap.
        values.delete(id);
        values.set(id, [kind, value]);
      }
      for (const id of values.keys()) {
        if (values.size <= MAX_VALUES_PER_PATIENT) break;
        values.delete(id);
      }
      entries.delete(subject);
      entries.set(subject, pack(values.values()));
      compiled.delete(subject);
      if (entries.size > maxPatients) {
        const oldest = entries.keys().next().value;
        if (oldest !== undefined) {
          entries.delete(oldest);
          compiled.delete(oldest);
        }
      }
    },
    recall(subject) {
      const c = compiledOf(subject);
      if (c === undefined) return undefined;
      c.matcher ??= compileKnownIdentifiers(unpack(entries.get(subject) ?? ''));
      return c.matcher;
    },
    snapshot(subject) {
      const c = compiledOf(subject);
      if (c === undefined) return undefined;
      c.snapshot ??= { values: unpack(entries.get(subject) ?? '') };
      return c.snapshot;
    },
    get size() {
      return entries.size;
    },
    get compiled() {
      return compiled.size;
    },
  };
}
