import { PipelineError } from '@ehrflow/errors';
import { dateShiftDays, isEncryptedField } from '@ehrflow/phi';
import type { CompiledContract, CompiledField, CompiledPolicy } from './compile.ts';
import type { WithheldReason } from './free-text.ts';
import { vocabulary as loadTextVocabulary } from './text/vocabulary.ts';
import { resourceIdentity } from './identity.ts';
import {
  chainKnownIdentifiers,
  compileKnownIdentifiers,
  type IdentifierKind,
  type KnownIdentifiers,
} from './known-identifiers.ts';
import type { DirectorySnapshot, PatientDirectory } from './patient-directory.ts';
import type { RecordScope } from './processors/types.ts';

const PATIENT = 'Patient';

/** Names of the fields stamped on every clean record. */
export const POLICY_FIELD = 'deidPolicy';
export const POLICY_VERSION_FIELD = 'deidPolicyVersion';

/** A record as decoded from Avro: field name → value. */
export type PlainRecord = Readonly<Record<string, unknown>>;

export interface DeidentifierOptions {
  readonly policy: CompiledPolicy;
  /** The pseudonym key (`PSEUDONYM_KEY`, parsed with `parsePseudonymKey`); required, never defaulted. */
  readonly pseudonymKey: Buffer;
  /** Clock for age caps; processing time by default. */
  readonly now?: () => Date;
  /**
   * Remembers identifiers from Patient records and adds them to the known identifiers of the same
   * patient's other records (`createPatientDirectory`, `createSharedPatientDirectory`). Without
   * one, no patient is known and the free text of every non-Patient record is withheld.
   */
  readonly directory?: PatientDirectory;
  /**
   * Called once per free-text value withheld (for a metric): its patient is unknown, the
   * detector's residual risk is above the policy's threshold, or the policy withholds the field.
   * Gets the resource type, field name and reason, never the value.
   */
  readonly onFreeTextWithheld?: (resourceType: string, field: string, reason: WithheldReason) => void;
}

export interface Deidentifier {
  readonly policy: CompiledPolicy;
  /**
   * De-identifies one record of a resource type whose PHI fields are already decrypted. Fields
   * the compiled contract does not know are left out (default-deny); the policy name and version
   * are stamped on the result.
   *
   * @throws PipelineError CONTRACT_VIOLATION when a value does not fit its method (field path in
   *   the message, never the value); DECRYPT_FAILED when a PHI field is still encrypted;
   *   UNKNOWN_RESOURCE_TYPE for a type the policy was not compiled for.
   */
  deidentify(type: string, record: PlainRecord): Record<string, unknown>;
  /**
   * The patient-directory subject of a record (`<sourceId>/Patient/<id>`), for prefetching a
   * shared directory; undefined when the record names no patient.
   */
  directorySubject(type: string, record: PlainRecord): string | undefined;
  /**
   * The directory's part of `deidentify`, for running the rest on a worker thread: a Patient
   * record is remembered now; for any other record, what the directory knows of its patient now
   * is returned as data, to go with the record to a worker whose directory is a
   * `createSnapshotDirectory`. Called in record order on the thread that owns the directory, it
   * gives each record what the inline path would have given it.
   */
  directoryStep(type: string, record: PlainRecord): DirectoryStep | undefined;
}

/** What a worker's directory needs of one record's patient (see `Deidentifier.directoryStep`). */
export interface DirectoryStep {
  readonly subject: string;
  readonly snapshot: DirectorySnapshot;
}

/** Creates the de-identification step for a compiled policy and key. */
export function createDeidentifier(options: DeidentifierOptions): Deidentifier {
  const { policy, pseudonymKey } = options;
  const now = options.now ?? (() => new Date());
  // The name layers' word lists load here, at start, not inside the first record's processing.
  loadTextVocabulary();
  return {
    policy,
    deidentify(type, record) {
      const compiled = policy.contract(type);
      // Dropped fields too: their values feed the free-text scrubber as known identifiers.
      for (const field of compiled.fields) {
        if (field.field.phiClass !== 'none' && containsEncrypted(record[field.name])) {
          throw new PipelineError(
            'DECRYPT_FAILED',
            `field ${field.name}: PHI field is still encrypted; decrypt before de-identifying`,
            { context: { fieldPath: field.name } },
          );
        }
      }
      const scope = recordScope(compiled, record, pseudonymKey, now(), options);
      const out: Record<string, unknown> = {};
      for (const field of compiled.fields) {
        if (field.output !== 'removed') out[field.name] = applyField(field, record[field.name], scope);
      }
      out[POLICY_FIELD] = policy.name;
      out[POLICY_VERSION_FIELD] = policy.version;
      return out;
    },
    directorySubject: (type, record) => directorySubject(policy.contract(type), record),
    directoryStep(type, record) {
      const directory = options.directory;
      if (directory === undefined) return undefined;
      const compiled = policy.contract(type);
      const subject = directorySubject(compiled, record);
      if (subject === undefined) return undefined;
      if (compiled.type === PATIENT) {
        directory.remember(subject, [...identifierValues(compiled, record)]);
        return undefined;
      }
      const snapshot = directory.snapshot?.(subject);
      return snapshot === undefined ? undefined : { subject, snapshot };
    },
  };
}

function applyField(field: CompiledField, value: unknown, scope: RecordScope): unknown {
  if (value === undefined || value === null) return field.field.avroType.startsWith('array<') ? [] : null;
  const process = field.process;
  if (process === undefined) return value;
  if (Array.isArray(value)) return value.map((item: unknown) => processScalar(field, item, process, scope));
  return processScalar(field, value, process, scope);
}

function processScalar(
  field: CompiledField,
  value: unknown,
  process: NonNullable<CompiledField['process']>,
  scope: RecordScope,
): string {
  if (typeof value !== 'string' && typeof value !== 'number') {
    throw new PipelineError(
      'CONTRACT_VIOLATION',
      `field ${field.name}: expected a string or number for method ${field.method}`,
      {
        context: { fieldPath: field.name },
      },
    );
  }
  return process(value, scope);
}

function containsEncrypted(value: unknown): boolean {
  return Array.isArray(value) ? value.some((v) => isEncryptedField(v)) : isEncryptedField(value);
}

/**
 * Per-record state, computed on first use: the patient's date shift (subject: the patient
 * reference, normalised without the source id, so one patient shifts alike everywhere; falling
 * back to the record's own identity when it has no patient) and the identifiers to scrub from
 * free text.
 *
 * Free text is default-deny: it is published (scrubbed) only when the patient's own identifiers
 * are at hand — the record is the Patient itself, or the directory knows the patient. Otherwise
 * `freeTextIdentifiers` is undefined and the scrub method withholds the value, because pattern
 * detectors cannot recognise a bare name ("Pt Quillon seen today").
 */
function recordScope(
  compiled: CompiledContract,
  record: PlainRecord,
  pseudonymKey: Buffer,
  now: Date,
  options: DeidentifierOptions,
): RecordScope {
  const { directory, onFreeTextWithheld } = options;
  const shifts = new Map<number, number>();
  let freeText: { known: KnownIdentifiers | undefined } | undefined;
  let subject: string | undefined;
  const subjectOf = (): string => (subject ??= shiftSubject(compiled, record));
  if (directory !== undefined && compiled.type === PATIENT) {
    const patient = directorySubject(compiled, record);
    if (patient !== undefined) directory.remember(patient, [...identifierValues(compiled, record)]);
  }
  return {
    pseudonymKey,
    now,
    shiftDays(maxDays) {
      let days = shifts.get(maxDays);
      if (days === undefined) {
        days = dateShiftDays(pseudonymKey, subjectOf(), maxDays);
        shifts.set(maxDays, days);
      }
      return days;
    },
    freeTextIdentifiers() {
      freeText ??= { known: freeTextIdentifiers(compiled, record, directory) };
      return freeText.known;
    },
    withheld(field, reason) {
      onFreeTextWithheld?.(compiled.type, field, reason);
    },
  };
}

function freeTextIdentifiers(
  compiled: CompiledContract,
  record: PlainRecord,
  directory: PatientDirectory | undefined,
): KnownIdentifiers | undefined {
  const own = compileKnownIdentifiers(identifierValues(compiled, record));
  if (compiled.type === PATIENT) return own;
  const patient = directorySubject(compiled, record);
  const theirs = patient === undefined ? undefined : directory?.recall(patient);
  return theirs === undefined ? undefined : chainKnownIdentifiers(own, theirs);
}

/**
 * The patient-directory subject of a record: `<sourceId>/Patient/<id>` from its patient reference
 * (a Patient record: its own reference or logical id). The source id is part of it because
 * logical ids are unique within a source only: a patient must never count as known because
 * another site has a patient with the same id. Undefined when the record names no patient.
 */
export function directorySubject(compiled: CompiledContract, record: PlainRecord): string | undefined {
  const source = record.sourceId;
  if (typeof source !== 'string' || source === '') return undefined;
  const ref = compiled.patientField === undefined ? undefined : record[compiled.patientField];
  let identity = typeof ref === 'string' ? resourceIdentity(ref, PATIENT) : undefined;
  if (identity === undefined && compiled.type === PATIENT && compiled.logicalIdField !== undefined) {
    const own = record[compiled.logicalIdField];
    if (typeof own === 'string') identity = resourceIdentity(own, PATIENT);
  }
  return identity?.type === PATIENT ? `${source}/${PATIENT}/${identity.id}` : undefined;
}

/** The date-shift subject of a record: `Patient/<id>`, or the record's own identity without one. */
export function shiftSubject(compiled: CompiledContract, record: PlainRecord): string {
  const patient = compiled.patientField === undefined ? undefined : record[compiled.patientField];
  if (typeof patient === 'string') {
    const identity = resourceIdentity(patient, 'Patient');
    if (identity !== undefined) return `${identity.type}/${identity.id}`;
  }
  const own = compiled.logicalIdField === undefined ? undefined : record[compiled.logicalIdField];
  if (typeof own === 'string') return `${compiled.type}/${own}`;
  return `${compiled.type}/record:${String(record.recordId)}`;
}

function* identifierValues(
  compiled: CompiledContract,
  record: PlainRecord,
): Generator<[IdentifierKind, string]> {
  for (const { name, kind } of compiled.identifierFields) {
    const value = record[name];
    if (typeof value === 'string') yield [kind, value];
    else if (Array.isArray(value)) {
      for (const item of value) if (typeof item === 'string') yield [kind, item];
    }
  }
}
