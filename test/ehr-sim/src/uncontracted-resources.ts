import type { BuildContext, FhirResource } from './clinical-resources.ts';
import { narrative } from './notes.ts';
import { CLINICIANS } from './synthetic-values.ts';

/** Synthetic Flag codes (SNOMED CT concepts commonly used as patient flags). */
const FLAG_CODES = [
  { system: 'http://snomed.info/sct', code: '225915006', display: 'Fall risk' },
  { system: 'http://snomed.info/sct', code: '1217004', display: 'Infection control precautions' },
  { system: 'http://snomed.info/sct', code: '419099009', display: 'Deceased relative' },
] as const;

/**
 * A Flag: a resource type the pipeline has no contract for, served on request (see
 * `ON_REQUEST_TYPES`). It names its patient in the narrative, like the clinical types do, so a
 * leak of an uncontracted record would show up in the leak scan.
 *
 * @see https://hl7.org/fhir/R4/flag.html
 */
export function flag(ctx: BuildContext): FhirResource {
  const { rng, patient } = ctx;
  const code = rng.pick(FLAG_CODES);
  const start = new Date(ctx.lastUpdatedMs - (1 + rng.int(900)) * 86_400_000).toISOString();
  return {
    resourceType: 'Flag',
    id: ctx.id,
    meta: ctx.meta,
    text: narrative(`${code.display}: ${patient.given} ${patient.family}`),
    status: rng.chance(0.85) ? 'active' : 'inactive',
    category: [
      {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/flag-category',
            code: 'safety',
            display: 'Safety',
          },
        ],
      },
    ],
    code: { coding: [{ ...code }], text: code.display },
    subject: { reference: `Patient/${ctx.patientId}` },
    period: { start },
    ...(ctx.encounterId === undefined ? {} : { encounter: { reference: `Encounter/${ctx.encounterId}` } }),
    author: { display: rng.pick(CLINICIANS) },
  };
}
