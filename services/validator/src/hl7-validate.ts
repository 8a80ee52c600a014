import { createHash } from 'node:crypto';
import type { QuarantineReason } from '@ehrflow/contracts';
import { isPipelineError } from '@ehrflow/errors';
import { parseHl7, type Hl7Issue, type Hl7Mapping, type Hl7View } from '@ehrflow/hl7';
import { decryptPayload } from '@ehrflow/phi';
import { isOperationalField } from '@ehrflow/scrubber';
import type { DriftObservation } from './drift-observation.ts';
import type { DerivingDeps, DerivingValidator } from './derived-resources.ts';
import { derivingOutcomes, validateDerived } from './derived-resources.ts';
import { originOf } from './quarantine.ts';

const REASON: Readonly<Record<Hl7Issue['kind'], QuarantineReason>> = {
  missing_required: 'missing_required',
  type_mismatch: 'type_mismatch',
  unexpected_segment: 'contract_violation',
  unexpected_repetition: 'contract_violation',
  version_changed: 'contract_violation',
  encoding_changed: 'contract_violation',
  unknown_message_type: 'unknown_resource_type',
};
const DRIFT: Readonly<Record<Hl7Issue['kind'], DriftObservation['kind']>> = {
  missing_required: 'missing_field',
  type_mismatch: 'type_changed',
  unexpected_segment: 'unexpected_field',
  unexpected_repetition: 'unexpected_field',
  version_changed: 'type_changed',
  encoding_changed: 'type_changed',
  unknown_message_type: 'unknown_resource_type',
};
const PRIORITY: readonly Hl7Issue['kind'][] = [
  'unknown_message_type',
  'version_changed',
  'encoding_changed',
  'missing_required',
  'type_mismatch',
  'unexpected_repetition',
  'unexpected_segment',
];

/**
 * Resource type of drift events about a message as a whole: `HL7v2:ADT_A01`. MSH-9 is sender text,
 * so only the shape of an HL7 message type (table 0076 code, table 0003 event) is repeated;
 * anything else is `HL7v2:other`, never echoed.
 */
const messageLabel = (view: Hl7View): string => {
  const label = view.header.messageType.replace('^', '_');
  return `HL7v2:${/^[A-Z0-9]{3}(_[A-Z0-9]{2,3})?$/.test(label) ? label : 'other'}`;
};

/**
 * The feed an HL7 drift belongs to: source, sending application (MSH-3), sending facility (MSH-4)
 * and message type (`north-adt:LABAPP:NORTHLAB:ORU_R01`). Two facilities behind one interface
 * engine, or the ADT and ORU feeds of one application, drift (and alert) separately. MSH-3/MSH-4
 * are kept readable only when they have an operational id's shape; otherwise a short hash stands in.
 * @see HL7 v2.5.1 chapter 2, MSH-3 sending application and MSH-4 sending facility
 */
export function hl7FeedId(sourceId: string, view: Hl7View): string {
  const part = (value: string): string =>
    value !== '' && /^[A-Za-z0-9._-]{1,40}$/.test(value) && isOperationalField('sourceId', value)
      ? value
      : `h${createHash('sha256').update(value).digest('hex').slice(0, 8)}`;
  return [
    sourceId,
    part(view.header.sendingApplication),
    part(view.header.sendingFacility),
    messageLabel(view).slice('HL7v2:'.length),
  ].join(':');
}

/**
 * The validator's HL7 v2 path. An `HL7V2` envelope is decrypted and parsed (`@ehrflow/hl7`),
 * checked against the mapping in `schemas/hl7/` — drift of any kind (a required field empty or
 * moved, a type change, an unexpected segment or repetition, another MSH-12 or other encoding
 * characters) quarantines the **whole message** with the reason and the position, and is a drift
 * event — and otherwise becomes FHIR resources, each validated by the FHIR path against the same
 * contracts as FHIR sources. Quarantine records keep the original HL7 message (encrypted), so a
 * replay re-validates the whole message.
 */
export function createHl7Validator(deps: DerivingDeps & { readonly mapping: Hl7Mapping }): DerivingValidator {
  const { quarantine, drift: driftOf } = derivingOutcomes(deps);

  return {
    async validate(input) {
      const { envelope, position, key } = input;
      const origin = originOf(envelope, position, input.replayCount);
      let view: Hl7View;
      try {
        view = parseHl7(decryptPayload(deps.keyring, envelope.payload).toString('utf8'));
      } catch (err) {
        if (!isPipelineError(err)) throw err;
        const reason: QuarantineReason = err.code === 'DECRYPT_FAILED' ? 'decrypt_failed' : 'parse_error';
        return [quarantine(origin, key, reason, null, `HL7 v2 message unusable (${err.code})`)];
      }
      const label = messageLabel(view);
      const feed = hl7FeedId(envelope.sourceId, view);
      const result = deps.mapping.map(view);
      const drift = driftOf(result.issues, position.offset, (issue) => ({
        kind: DRIFT[issue.kind],
        sourceId: feed,
        label,
        fieldPath: issue.position,
      }));
      const blocking = result.issues.filter((i) => i.blocking);
      if (blocking.length > 0) {
        const first = [...blocking].sort(
          (a, b) => PRIORITY.indexOf(a.kind) - PRIORITY.indexOf(b.kind),
        )[0] as Hl7Issue;
        const detail = blocking
          .map(
            (i) =>
              `${i.kind} at ${i.position}${i.expected ? ` (expected ${i.expected}, found ${i.observed ?? 'nothing'})` : ''}`,
          )
          .join('; ');
        return [
          quarantine(
            { ...origin, resourceType: label },
            key,
            REASON[first.kind],
            first.position,
            `HL7 v2 ${label}: ${detail}`,
            drift,
          ),
        ];
      }
      const outcomes = await validateDerived(deps, input, result.resources);
      if (outcomes.length === 0)
        return [
          quarantine(
            { ...origin, resourceType: label },
            key,
            'contract_violation',
            null,
            `HL7 v2 ${label}: no segment maps to a contract`,
            drift,
          ),
        ];
      if (outcomes[0] !== undefined && drift.length > 0)
        outcomes[0] = { ...outcomes[0], drift: [...outcomes[0].drift, ...drift] };
      return outcomes;
    },
  };
}
