import {
  SOURCE_PARTS_HEADER,
  SOURCE_RECORD_HEADER,
  type QuarantineReason,
  type RawEnvelope,
} from '@ehrflow/contracts';
import { recordIdOf } from '@ehrflow/fhir';
import { encryptPayload, type Keyring } from '@ehrflow/phi';
import {
  mappingDrift,
  type DriftObservation,
  type DriftPlace,
  type MappingIssue,
} from './drift-observation.ts';
import { quarantineRecord, type QuarantineOrigin } from './quarantine.ts';
import type { Outcome, RawInput, RecordValidator } from './validate-record.ts';

/**
 * The path of a source format whose messages become FHIR resources (HL7 v2 messages, X12
 * transaction sets): one envelope in, an outcome per resource (or one quarantine) out.
 */
export interface DerivingValidator {
  validate(input: Extract<RawInput, { envelope: RawEnvelope }>): Promise<Outcome[]>;
}

/** What a deriving path needs besides its mapping. */
export interface DerivingDeps {
  readonly keyring: Keyring;
  /** The FHIR path: validates each resource built from a message. */
  readonly fhir: RecordValidator;
  readonly now?: () => number;
}

/** A FHIR resource a source-format mapping built from one message (HL7 v2) or transaction set (X12). */
export interface DerivedResource {
  readonly resourceType: string;
  readonly id: string;
  readonly resource: Record<string, unknown>;
}

/**
 * What a deriving path refuses with, stamped by `deps.now`: the quarantine of a whole message or
 * set (no contract subject: the refusal came before any contract was chosen), and the drift its
 * mapping issues are evidence of.
 */
export function derivingOutcomes(deps: DerivingDeps) {
  const now = deps.now ?? Date.now;
  return {
    quarantine: (
      origin: QuarantineOrigin,
      key: string | null,
      reason: QuarantineReason,
      fieldPath: string | null,
      detail: string,
      drift: DriftObservation[] = [],
    ): Outcome => ({
      kind: 'quarantined',
      recordId: origin.recordId,
      key: key ?? origin.recordId,
      value: quarantineRecord(origin, { reason, fieldPath, detail, subject: null, version: null }, now()),
      drift,
    }),
    /** One drift observation per issue, at the offset of the message or set. */
    drift: <I extends MappingIssue>(
      issues: readonly I[],
      offset: string,
      placeOf: (issue: I) => DriftPlace,
    ): DriftObservation[] => issues.map((issue) => mappingDrift(issue, placeOf(issue), offset, now())),
  };
}

/**
 * Validates each resource mapped from a source message by the FHIR path, as a derived FHIR
 * envelope of its own (record id from the resource, payload re-encrypted with the active key).
 * A resource the contract refuses is quarantined with the **original** envelope's record id and
 * payload, so a replay re-validates the whole message. Every valid outcome names its source
 * record and how many parts it has (headers): reconciliation counts messages and sets, not parts.
 */
export async function validateDerived(
  deps: DerivingDeps,
  input: Extract<RawInput, { envelope: RawEnvelope }>,
  resources: readonly DerivedResource[],
): Promise<Outcome[]> {
  const { envelope, position, key } = input;
  const partsHeaders = {
    [SOURCE_RECORD_HEADER]: envelope.recordId,
    [SOURCE_PARTS_HEADER]: String(resources.length),
  };
  const outcomes: Outcome[] = [];
  for (const [index, r] of resources.entries()) {
    const derived: RawEnvelope = {
      ...envelope,
      recordId: recordIdOf(envelope.sourceId, r.resourceType, r.id, `${envelope.recordId}:${index}`),
      resourceType: r.resourceType,
      format: 'FHIR_JSON',
      payload: encryptPayload(deps.keyring, Buffer.from(JSON.stringify(r.resource), 'utf8')),
      keyId: deps.keyring.activeKid,
      sourceLocator: `${envelope.sourceLocator} ${r.resourceType} ${index + 1}`,
    };
    const outcome = await deps.fhir.validate({
      envelope: derived,
      position,
      key,
      replayCount: input.replayCount,
    });
    outcomes.push(
      outcome.kind === 'quarantined'
        ? {
            ...outcome,
            value: {
              ...outcome.value,
              recordId: envelope.recordId,
              payload: envelope.payload,
              keyId: envelope.keyId,
            },
          }
        : outcome.kind === 'valid'
          ? { ...outcome, headers: { ...outcome.headers, ...partsHeaders } }
          : outcome,
    );
  }
  return outcomes;
}
