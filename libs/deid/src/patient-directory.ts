import type { IdentifierKind } from './known-identifiers.ts';

/**
 * A bounded, in-memory memory of each patient's identifiers, filled from Patient records and
 * consulted when scrubbing the free text of the patient's other records (an Observation note that
 * names the patient carries no name field of its own).
 *
 * Best effort by nature: a record processed before its Patient, or by another replica, or after a
 * restart, gets only its own identifiers; the pattern detectors still run. The values stay in
 * process memory only (never logged, never persisted) and the oldest patients are forgotten first.
 */
export interface PatientDirectory {
  /** Replaces what is known of a patient (subject: `Patient/<id>`). */
  remember(subject: string, identifiers: readonly (readonly [IdentifierKind, string])[]): void;
  /** What is known of a patient; empty when nothing is. */
  recall(subject: string): readonly (readonly [IdentifierKind, string])[];
  readonly size: number;
}

/** Creates a directory holding at most `maxPatients` patients (least recently remembered go first). */
export function createPatientDirectory(maxPatients: number): PatientDirectory {
  if (!Number.isInteger(maxPatients) || maxPatients < 1)
    throw new RangeError('maxPatients must be a positive integer');
  const entries = new Map<string, readonly (readonly [IdentifierKind, string])[]>();
  return {
    remember(subject, identifiers) {
      entries.delete(subject);
      entries.set(
        subject,
        identifiers.map(([kind, value]) => [kind, value] as const),
      );
      if (entries.size > maxPatients) {
        const oldest = entries.keys().next().value;
        if (oldest !== undefined) entries.delete(oldest);
      }
    },
    recall: (subject) => entries.get(subject) ?? [],
    get size() {
      return entries.size;
    },
  };
}
