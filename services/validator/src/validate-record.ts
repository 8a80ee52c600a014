import type { Deletion, QuarantineReason, QuarantineRecord, RawEnvelope } from '@ehrflow/contracts';
import { isPipelineError, type PipelineError } from '@ehrflow/errors';
import {
  isBlocking,
  isR4ResourceType,
  type Issue,
  type MappedRecord,
  type ParsedResource,
  type Parser,
  type RawFormat,
} from '@ehrflow/fhir';
import type { RecordPosition } from '@ehrflow/kafka';
import { decryptPayload, encryptPayload, type Keyring } from '@ehrflow/phi';
import type { ActiveContract, ContractCache } from './contract-cache.ts';
import { parserFor } from './parsers.ts';
import { checkDeletePayload, deletionRecord, type DeletionContract } from './deletion.ts';
import type { DriftObservation } from './drift-observation.ts';
import { encryptPhiFields } from './encrypt-phi.ts';
import {
  describeIssues,
  originOf,
  quarantineRecord,
  reasonOfIssues,
  type QuarantineOrigin,
} from './quarantine.ts';

/** One record to validate: a decoded raw envelope, or the bytes of one that did not decode. */
export type RawInput =
  | {
      readonly envelope: RawEnvelope;
      readonly position: RecordPosition;
      readonly key: string | null;
      /** 0 on first processing; replay from quarantine passes the record's count + 1. */
      readonly replayCount: number;
    }
  | {
      readonly envelope?: undefined;
      readonly undecodable: { readonly error: PipelineError; readonly raw: Buffer | null };
      readonly position: RecordPosition;
      readonly key: string | null;
      readonly replayCount: number;
    };

export type Outcome =
  | {
      readonly kind: 'valid';
      readonly recordId: string;
      readonly topic: string;
      readonly key: string;
      /** PHI fields already encrypted. */
      readonly value: MappedRecord;
      readonly contract: ActiveContract;
      readonly drift: readonly DriftObservation[];
      /** Kafka headers of the valid record (the HL7 path links each part to its message). */
      readonly headers?: Readonly<Record<string, string>>;
      /**
       * Set when the fill rate was not observed (`fillRate: false`): the fields whose mapped value
       * was empty (`""`), which encryption would hide from the fill-rate count.
       */
      readonly emptyFields?: readonly string[];
    }
  | {
      /** A DELETE envelope, bound for `ehr.valid.deletions`. */
      readonly kind: 'deletion';
      readonly recordId: string;
      readonly topic: string;
      readonly key: string;
      /** The logical id already encrypted. */
      readonly value: Deletion;
      readonly resourceType: string;
      readonly subject: string;
      readonly version: number;
      readonly drift: readonly DriftObservation[];
    }
  | {
      readonly kind: 'quarantined';
      readonly recordId: string;
      readonly key: string;
      readonly value: QuarantineRecord;
      readonly drift: readonly DriftObservation[];
    };

export interface ValidateDeps {
  readonly keyring: Keyring;
  readonly contracts: ContractCache;
  /** The contract of `ehr.valid.deletions`, where DELETE envelopes go. */
  readonly deletions: DeletionContract;
  readonly maxPayloadBytes: number;
  readonly now?: () => number;
  /**
   * False on a worker thread: fill-rate windows count records in order, per process, so the main
   * thread observes them (`createFillRateObserver`) when the outcomes come back. Default true.
   */
  readonly fillRate?: boolean;
}

/**
 * Validates raw envelopes: decrypt → parse → map → check → encrypt PHI fields, or quarantine. A
 * DELETE envelope becomes a Deletion (`{resourceType, id}` checked, the id encrypted) or is
 * quarantined.
 */
export interface RecordValidator {
  /**
   * Never throws for anything wrong with the record (that is a quarantine outcome); throws only
   * transient failures (registry unreachable), so the batch is retried.
   */
  validate(input: RawInput): Promise<Outcome>;
  /** The fill-rate windows' observer of this validator (the worker path observes through it too). */
  readonly fillRate: FillRateObserver;
}

/** What stands for a `resourceType` that is no R4 type: the value itself may be record data. */
export const NOT_A_TYPE = '(not a FHIR R4 type)';

export function createRecordValidator(deps: ValidateDeps): RecordValidator {
  const now = deps.now ?? Date.now;
  const fillRate = createFillRateObserver(now);
  const parsers = new Map<RawFormat, Parser>();
  const parser = (format: RawFormat): Parser => {
    let p = parsers.get(format);
    if (p === undefined) {
      p = parserFor(format, { maxBytes: deps.maxPayloadBytes });
      parsers.set(format, p);
    }
    return p;
  };

  function quarantine(
    origin: QuarantineOrigin,
    key: string | null,
    reason: QuarantineReason,
    fieldPath: string | null,
    detail: string,
    contract: { subject: string; version: number } | null,
    drift: readonly DriftObservation[] = [],
  ): Outcome {
    const value = quarantineRecord(
      origin,
      { reason, fieldPath, detail, subject: contract?.subject ?? null, version: contract?.version ?? null },
      now(),
    );
    return { kind: 'quarantined', recordId: origin.recordId, key: key ?? origin.recordId, value, drift };
  }

  return {
    fillRate,
    async validate(input) {
      if (input.envelope === undefined) return undecodable(input);
      const { envelope, position, key } = input;
      const origin = originOf(envelope, position, input.replayCount);

      const parsed = open(envelope, origin, key);
      if ('kind' in parsed) return parsed;
      if (envelope.kind === 'DELETE') return deletion(envelope, parsed, origin, key, position);

      const { resourceType } = parsed;
      const withType: QuarantineOrigin = { ...origin, resourceType };
      if (!deps.contracts.serves(resourceType)) return unknownType(withType, key, resourceType, position);
      let active: ActiveContract;
      try {
        active = await deps.contracts.forType(resourceType);
      } catch (err) {
        if (isPipelineError(err) && err.code === 'SCHEMA_NOT_REGISTERED') {
          return unknownType(withType, key, resourceType, position);
        }
        throw err;
      }

      const contractRef = { subject: active.subject, version: active.version };
      const result = active.mapping.map(parsed.resource, {
        recordId: envelope.recordId,
        jobId: envelope.jobId,
        sourceId: envelope.sourceId,
        sourceLocator: envelope.sourceLocator,
        contractVersion: active.version,
      });
      const drift = result.issues.flatMap((issue) =>
        driftOf(issue, envelope.sourceId, active, position.offset, now()),
      );

      if (result.record === null) {
        const blocking = result.issues.filter((i) => isBlocking(i, active.mapping.policy));
        const { reason, issue } = reasonOfIssues(blocking);
        return quarantine(
          withType,
          key,
          reason,
          issue?.path ?? null,
          describeIssues(blocking),
          contractRef,
          drift,
        );
      }

      const record = result.record;
      const fillRateOn = deps.fillRate !== false;
      const drops = fillRateOn ? fillRate.observe(active, record, position.offset) : [];
      return {
        kind: 'valid',
        recordId: envelope.recordId,
        topic: active.topic,
        key: key ?? envelope.recordId,
        value: encryptPhiFields(record, active.contract, deps.keyring),
        contract: active,
        drift: drops.length === 0 ? drift : [...drift, ...drops],
        ...(fillRateOn ? {} : { emptyFields: Object.keys(record).filter((name) => record[name] === '') }),
      };
    },
  };

  /** Decrypts and parses the payload, or quarantines the record. */
  function open(
    envelope: RawEnvelope,
    origin: QuarantineOrigin,
    key: string | null,
  ): ParsedResource | Outcome {
    let plaintext: Buffer;
    try {
      plaintext = decryptPayload(deps.keyring, envelope.payload);
    } catch (err) {
      return quarantine(
        origin,
        key,
        'decrypt_failed',
        null,
        `payload does not decrypt (${codeOf(err)}, key ${envelope.keyId})`,
        null,
      );
    }
    try {
      return parser(envelope.format).parse(plaintext, { recordId: envelope.recordId });
    } catch (err) {
      if (!isPipelineError(err)) throw err;
      const reason: QuarantineReason = err.code === 'TOO_LARGE' ? 'too_large' : 'parse_error';
      return quarantine(origin, key, reason, null, err.message, null);
    }
  }

  /** A DELETE envelope whose payload parsed: a Deletion for a served type, or a quarantine. */
  function deletion(
    envelope: RawEnvelope,
    parsed: ParsedResource,
    origin: QuarantineOrigin,
    key: string | null,
    position: RecordPosition,
  ): Outcome {
    const { resourceType } = parsed;
    const withType: QuarantineOrigin = { ...origin, resourceType };
    const contractRef = { subject: deps.deletions.subject, version: deps.deletions.version };
    const check = checkDeletePayload(parsed.resource, envelope.resourceType);
    if (!check.ok) return quarantine(withType, key, check.reason, check.fieldPath, check.detail, contractRef);
    if (!deps.contracts.serves(resourceType)) return unknownType(withType, key, resourceType, position);
    return {
      kind: 'deletion',
      recordId: envelope.recordId,
      topic: deps.deletions.topic,
      key: key ?? envelope.recordId,
      value: deletionRecord(envelope, check.logicalId, deps.deletions, deps.keyring),
      resourceType,
      subject: deps.deletions.subject,
      version: deps.deletions.version,
      drift: [],
    };
  }

  /**
   * A type the validator has no contract for. A real FHIR R4 type (`Flag`, `Goal`, …) is
   * `no_contract`: a source was asked for it and it is waiting for a steward to write its
   * contract. Anything else (`Spaceship`, `patient`) is `unknown_resource_type`. Both raise the
   * `unknown_resource_type` drift event, deduplicated per source and type, so stewards see what
   * arrives without a contract.
   */
  function unknownType(
    origin: QuarantineOrigin,
    key: string | null,
    resourceType: string,
    position: RecordPosition,
  ): Outcome {
    // Only a real type name is repeated in the quarantine record, the drift event and the alert:
    // anything else in `resourceType` is a value from the record, and may be PHI.
    const isType = isR4ResourceType(resourceType);
    const shown = isType ? resourceType : NOT_A_TYPE;
    const drift: DriftObservation = {
      kind: 'unknown_resource_type',
      sourceId: origin.sourceId,
      resourceType: shown,
      subject: null,
      version: null,
      fieldPath: 'resourceType',
      expectedType: null,
      observedType: shown,
      offset: position.offset,
      at: now(),
    };
    return quarantine(
      { ...origin, resourceType: shown },
      key,
      isType ? 'no_contract' : 'unknown_resource_type',
      'resourceType',
      isType
        ? `FHIR R4 resource type ${shown} has no contract this validator serves (add schemas/fhir/${shown}.avsc and register it, then replay)`
        : 'resourceType is not a FHIR R4 resource type (its value is not repeated: it may be record data)',
      null,
      [drift],
    );
  }

  function undecodable(input: Extract<RawInput, { envelope?: undefined }>): Outcome {
    const { position, undecodable: u } = input;
    // Undecodable bytes may be anything, even clear text: kept only encrypted, like every payload.
    const payload = encryptPayload(deps.keyring, u.raw ?? Buffer.alloc(0));
    const recordId = `undecodable:${position.topic}/${position.partition}@${position.offset}`;
    const origin: QuarantineOrigin = {
      position,
      recordId,
      jobId: null,
      sourceId: '(unknown)',
      resourceType: null,
      payload,
      keyId: deps.keyring.activeKid,
      replayCount: input.replayCount,
    };
    return quarantine(
      origin,
      input.key,
      'parse_error',
      null,
      `raw envelope does not decode (${u.error.code})`,
      null,
    );
  }
}

/** Observes fill rates in record order: the drift of fill-rate drops and one baseline notice per source. */
export interface FillRateObserver {
  observe(active: ActiveContract, record: MappedRecord, offset: string): DriftObservation[];
}

export function createFillRateObserver(now: () => number = Date.now): FillRateObserver {
  /** Sources already told they have no accepted fill-rate baseline (once per process). */
  const baselineNoticed = new Set<string>();
  return {
    observe(active, record, offset) {
      const { resourceType } = active;
      active.fillRate.observe(record);
      const drops = active.fillRate.drops().map((d): DriftObservation => ({
        kind: 'fill_rate_drop',
        sourceId: d.sourceId,
        resourceType,
        subject: active.subject,
        version: active.version,
        fieldPath: d.fieldPath,
        expectedType: null,
        observedType: null,
        offset,
        at: now(),
        fillRate: { observed: d.observed, expected: d.expected, baseline: d.baseline, records: d.records },
      }));
      // One notice per source without an accepted baseline (not an alert per field).
      for (const sourceId of active.fillRate.needsBaseline()) {
        if (baselineNoticed.has(sourceId)) continue;
        baselineNoticed.add(sourceId);
        drops.push({
          kind: 'baseline_needed',
          sourceId,
          resourceType,
          subject: active.subject,
          version: active.version,
          fieldPath: null,
          expectedType: null,
          observedType: null,
          offset,
          at: now(),
        });
      }
      return drops;
    },
  };
}

function codeOf(err: unknown): string {
  return isPipelineError(err) ? err.code : 'error';
}

/** The drift kind an issue is evidence of; contract violations are quarantine reasons, not drift. */
const DRIFT_OF: Readonly<Partial<Record<Issue['kind'], DriftObservation['kind']>>> = {
  missing_required: 'missing_field',
  type_mismatch: 'type_changed',
  unexpected_field: 'unexpected_field',
};

function driftOf(
  issue: Issue,
  sourceId: string,
  active: ActiveContract,
  offset: string,
  at: number,
): DriftObservation[] {
  const kind = DRIFT_OF[issue.kind];
  if (kind === undefined) return [];
  const { resourceType, subject, version } = active;
  return [
    {
      kind,
      sourceId,
      resourceType,
      subject,
      version,
      fieldPath: issue.path,
      expectedType: issue.expected ?? null,
      observedType: issue.observed ?? null,
      offset,
      at,
    },
  ];
}
