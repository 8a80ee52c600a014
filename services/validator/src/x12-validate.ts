import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { QuarantineReason, RawEnvelope } from '@ehrflow/contracts';
import { isPipelineError } from '@ehrflow/errors';
import { decryptPayload } from '@ehrflow/phi';
import type { PhiLookup, X12Issue, X12Mapping } from '@ehrflow/x12';
import type { DriftObservation } from './drift-observation.ts';
import type { DerivingDeps, DerivingValidator } from './derived-resources.ts';
import { derivingOutcomes, validateDerived } from './derived-resources.ts';
import { originOf } from './quarantine.ts';

const REASON: Readonly<Record<X12Issue['kind'], QuarantineReason>> = {
  missing_required: 'missing_required',
  type_mismatch: 'type_mismatch',
  unexpected_segment: 'contract_violation',
  version_changed: 'contract_violation',
  unknown_set: 'unknown_resource_type',
};
const DRIFT: Readonly<Record<X12Issue['kind'], DriftObservation['kind']>> = {
  missing_required: 'missing_field',
  type_mismatch: 'type_changed',
  unexpected_segment: 'unexpected_field',
  version_changed: 'type_changed',
  unknown_set: 'unknown_resource_type',
};

/** `X12:837P`; a resource type the receiver did not recognise is `X12:other`, never echoed. */
const setLabel = (envelope: RawEnvelope): string =>
  `X12:${/^(837P|837I|835|X12_\d{3})$/.test(envelope.resourceType) ? envelope.resourceType : 'other'}`;

/** The PHI class of a contract field by its FHIR path, read from `schemas/fhir/<Type>.avsc`. */
export function contractPhiLookup(schemasDir: string): PhiLookup {
  const cache = new Map<string, { fhirPath?: string; phi?: string }[]>();
  return (resourceType, path) => {
    let fields = cache.get(resourceType);
    if (fields === undefined) {
      const schema = JSON.parse(readFileSync(join(schemasDir, 'fhir', `${resourceType}.avsc`), 'utf8')) as {
        fields: { fhirPath?: string; phi?: string }[];
      };
      fields = schema.fields;
      cache.set(resourceType, fields);
    }
    return fields.find((f) => f.fhirPath?.replace(/\.first\(\)$/, '') === path)?.phi;
  };
}

/**
 * The validator's X12 path. An `X12` envelope (one transaction set with its ISA and GS, as the
 * billing receiver writes it) is decrypted, mapped with `schemas/x12/mapping.json` — drift of any
 * kind (a required element empty, a code where a number belongs, an unexpected segment or loop,
 * an unknown guide) quarantines the **whole transaction set** with the reason and position and is
 * a drift event for its sender — and otherwise becomes Claim / ExplanationOfBenefit resources,
 * each validated by the FHIR path against the same contracts as FHIR sources. Quarantine records
 * keep the original set (encrypted), so a replay re-validates it whole.
 */
export function createX12Validator(deps: DerivingDeps & { readonly mapping: X12Mapping }): DerivingValidator {
  const { quarantine, drift: driftOf } = derivingOutcomes(deps);

  return {
    async validate(input) {
      const { envelope, position, key } = input;
      const label = setLabel(envelope);
      const origin = { ...originOf(envelope, position, input.replayCount), resourceType: label };
      let payload: Buffer;
      try {
        payload = decryptPayload(deps.keyring, envelope.payload);
      } catch (err) {
        if (!isPipelineError(err)) throw err;
        return [
          quarantine(origin, key, 'decrypt_failed', null, `X12 ${label}: payload unusable (${err.code})`),
        ];
      }
      const result = deps.mapping.map(payload);
      const drift = driftOf(result.issues, position.offset, (issue) => ({
        kind: DRIFT[issue.kind],
        sourceId: envelope.sourceId,
        label,
        fieldPath: `${label} ${issue.position}`,
      }));
      if (result.issues.length > 0) {
        const first = result.issues[0] as X12Issue;
        const detail = result.issues
          .slice(0, 5)
          .map(
            (i) =>
              `${i.kind} at ${i.position}${i.segmentPosition === null ? '' : ` (segment ${i.segmentPosition})`}${i.expected ? ` expected ${i.expected}, found ${i.observed ?? 'nothing'}` : ''}`,
          )
          .join('; ');
        return [
          quarantine(origin, key, REASON[first.kind], first.position, `X12 ${label}: ${detail}`, drift),
        ];
      }
      // A resource refused by its contract keeps the whole original set for replay.
      return validateDerived(deps, input, result.resources);
    },
  };
}
