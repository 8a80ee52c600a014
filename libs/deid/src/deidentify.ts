import { PipelineError } from '@ehrflow/errors';
import { dateShiftDays, isEncryptedField } from '@ehrflow/phi';
import type { CompiledContract, CompiledField, CompiledPolicy } from './compile.ts';
import { resourceIdentity } from './identity.ts';
import { compileKnownIdentifiers, type IdentifierKind, type KnownIdentifiers } from './known-identifiers.ts';
import type { PatientDirectory } from './patient-directory.ts';
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
   * patient's other records (best effort, see `createPatientDirectory`). Off when absent.
   */
  readonly directory?: PatientDirectory;
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
}

/** Creates the de-identification step for a compiled policy and key. */
export function createDeidentifier(options: DeidentifierOptions): Deidentifier {
  const { policy, pseudonymKey } = options;
  const now = options.now ?? (() => new Date());
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
      const scope = recordScope(compiled, record, pseudonymKey, now(), options.directory);
      const out: Record<string, unknown> = {};
      for (const field of compiled.fields) {
        if (field.output !== 'removed') out[field.name] = applyField(field, record[field.name], scope);
      }
      out[POLICY_FIELD] = policy.name;
      out[POLICY_VERSION_FIELD] = policy.version;
      return out;
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
 * back to the record's own identity when it has no patient) and the known identifiers.
 */
function recordScope(
  compiled: CompiledContract,
  record: PlainRecord,
  pseudonymKey: Buffer,
  now: Date,
  directory: PatientDirectory | undefined,
): RecordScope {
  const shifts = new Map<number, number>();
  let known: KnownIdentifiers | undefined;
  let subject: string | undefined;
  const subjectOf = (): string => (subject ??= shiftSubject(compiled, record));
  if (directory !== undefined && compiled.type === PATIENT && compiled.patientField !== undefined) {
    directory.remember(subjectOf(), [...identifierValues(compiled, record)]);
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
    knownIdentifiers() {
      if (known === undefined) {
        const own = [...identifierValues(compiled, record)];
        const remembered =
          directory === undefined || compiled.type === PATIENT ? [] : directory.recall(subjectOf());
        known = compileKnownIdentifiers([...own, ...remembered]);
      }
      return known;
    },
  };
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
