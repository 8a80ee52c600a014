import type { PatientIdentity } from './identity.ts';
import { narrative, noteText } from './notes.ts';
import type { Rng } from './prng.ts';
import type { ClinicalType } from './resource-types.ts';
import {
  ALLERGENS,
  CLINICIANS,
  CODED_OBSERVATIONS,
  CONDITIONS,
  ENCOUNTER_CLASSES,
  ENCOUNTER_REASONS,
  MEDICATIONS,
  PROCEDURES,
  QUANTITY_OBSERVATIONS,
  TEXT_OBSERVATIONS,
  type Coded,
} from './synthetic-values.ts';

/** A FHIR resource as plain JSON. */
export interface FhirResource {
  resourceType: string;
  id: string;
  [field: string]: unknown;
}

/** Everything a builder needs; all randomness comes from `rng`, so output is reproducible. */
export interface BuildContext {
  readonly rng: Rng;
  readonly id: string;
  readonly meta: { versionId: string; lastUpdated: string; source: string };
  readonly lastUpdatedMs: number;
  readonly patient: PatientIdentity;
  readonly patientId: string;
  /** One of the patient's encounters, when the data set has any. */
  readonly encounterId: string | undefined;
  readonly organization: string;
}

const DAY_MS = 86_400_000;
const TERMINOLOGY = 'http://terminology.hl7.org/CodeSystem';

function concept(coded: Coded): { coding: Coded[]; text: string } {
  return { coding: [coded], text: coded.display };
}

function subjectOf(ctx: BuildContext): { reference: string; display: string } {
  return { reference: `Patient/${ctx.patientId}`, display: `${ctx.patient.given} ${ctx.patient.family}` };
}

/** A clinical date shortly before the resource was last updated. */
function clinicalTime(ctx: BuildContext, maxDaysBefore: number): string {
  return new Date(ctx.lastUpdatedMs - ctx.rng.int(maxDaysBefore * 24) * 3_600_000 - DAY_MS).toISOString();
}

function head(ctx: BuildContext, resourceType: ClinicalType, summary: string): FhirResource {
  return { resourceType, id: ctx.id, meta: ctx.meta, text: narrative(summary) };
}

function encounter(ctx: BuildContext): FhirResource {
  const { rng, patient } = ctx;
  const cls = rng.pick(ENCOUNTER_CLASSES);
  const reason = rng.pick(ENCOUNTER_REASONS);
  const start = clinicalTime(ctx, 60);
  const end = new Date(Date.parse(start) + rng.between(1, 8) * 1_800_000).toISOString();
  return {
    ...head(
      ctx,
      'Encounter',
      `${cls.display} visit of ${patient.given} ${patient.family} (MRN ${patient.mrn}): ${reason.display}`,
    ),
    identifier: [{ system: `urn:ehrflow:encounter:${ctx.organization}`, value: `V${rng.digits(9)}` }],
    status: 'finished',
    class: cls,
    type: [concept(reason)],
    subject: subjectOf(ctx),
    participant: [{ individual: { display: rng.pick(CLINICIANS) } }],
    period: { start, end },
    reasonCode: [concept(reason)],
    serviceProvider: { display: `${ctx.organization} Medical Center (synthetic)` },
  };
}

function encounterOf(ctx: BuildContext): { encounter?: { reference: string } } {
  return ctx.encounterId === undefined ? {} : { encounter: { reference: `Encounter/${ctx.encounterId}` } };
}

/** LOINC codes of a blood pressure panel and its two components. @see https://hl7.org/fhir/R4/bp.html */
const BP_PANEL: Coded = { system: 'http://loinc.org', code: '85354-9', display: 'Blood pressure panel' };
const BP_SYSTOLIC: Coded = { system: 'http://loinc.org', code: '8480-6', display: 'Systolic blood pressure' };
const BP_DIASTOLIC: Coded = {
  system: 'http://loinc.org',
  code: '8462-4',
  display: 'Diastolic blood pressure',
};

/**
 * A blood pressure panel as real servers send it (Synthea, US Core vital signs): no value[x], the
 * systolic and diastolic readings in `component`, each with its own interpretation.
 */
function bloodPressure(rng: Rng): { code: Coded; value: Record<string, unknown>; category: string } {
  const reading = (code: Coded, value: number, high: number) => ({
    code: concept(code),
    valueQuantity: { value, unit: 'mm[Hg]', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
    interpretation: [
      {
        coding: [{ system: `${TERMINOLOGY}/v3-ObservationInterpretation`, code: value > high ? 'H' : 'N' }],
      },
    ],
  });
  const systolic = rng.between(100, 165);
  const diastolic = systolic - rng.between(30, 60);
  return {
    code: BP_PANEL,
    value: { component: [reading(BP_SYSTOLIC, systolic, 130), reading(BP_DIASTOLIC, diastolic, 80)] },
    category: 'vital-signs',
  };
}

function observationValue(rng: Rng): { code: Coded; value: Record<string, unknown>; category: string } {
  const kind = rng.int(10);
  if (kind === 5) return bloodPressure(rng);
  if (kind < 6) {
    const spec = rng.pick(QUANTITY_OBSERVATIONS);
    const raw = spec.min + rng.next() * (spec.max - spec.min);
    const value = Number(raw.toFixed(spec.decimals));
    const ucum = { unit: spec.unit, system: 'http://unitsofmeasure.org', code: spec.unit };
    const flag = value < spec.low ? 'L' : value > spec.high ? 'H' : 'N';
    return {
      code: spec.code,
      value: {
        valueQuantity: { value, ...ucum },
        interpretation: [{ coding: [{ system: `${TERMINOLOGY}/v3-ObservationInterpretation`, code: flag }] }],
        referenceRange: [{ low: { value: spec.low, ...ucum }, high: { value: spec.high, ...ucum } }],
      },
      category: spec.category,
    };
  }
  if (kind < 8) {
    const spec = rng.pick(CODED_OBSERVATIONS);
    return {
      code: spec.code,
      value: { valueCodeableConcept: concept(rng.pick(spec.answers)) },
      category: 'social-history',
    };
  }
  const spec = rng.pick(TEXT_OBSERVATIONS);
  return { code: spec.code, value: { valueString: rng.pick(spec.texts) }, category: 'social-history' };
}

function observation(ctx: BuildContext): FhirResource {
  const { rng, patient } = ctx;
  const { code, value, category } = observationValue(rng);
  const effective = clinicalTime(ctx, 30);
  return {
    ...head(ctx, 'Observation', `${code.display} for ${patient.given} ${patient.family}`),
    status: 'final',
    category: [{ coding: [{ system: `${TERMINOLOGY}/observation-category`, code: category }] }],
    code: concept(code),
    subject: subjectOf(ctx),
    ...encounterOf(ctx),
    effectiveDateTime: effective,
    issued: new Date(Date.parse(effective) + 3_600_000).toISOString(),
    performer: [{ display: rng.pick(CLINICIANS) }],
    ...value,
    note: [{ text: noteText(rng, patient, code.display.toLowerCase()) }],
  };
}

function condition(ctx: BuildContext): FhirResource {
  const { rng, patient } = ctx;
  const code = rng.pick(CONDITIONS);
  const active = rng.chance(0.8);
  return {
    ...head(ctx, 'Condition', `${code.display} - ${patient.family}, ${patient.given}`),
    clinicalStatus: {
      coding: [{ system: `${TERMINOLOGY}/condition-clinical`, code: active ? 'active' : 'resolved' }],
    },
    verificationStatus: { coding: [{ system: `${TERMINOLOGY}/condition-ver-status`, code: 'confirmed' }] },
    category: [{ coding: [{ system: `${TERMINOLOGY}/condition-category`, code: 'problem-list-item' }] }],
    code: concept(code),
    subject: subjectOf(ctx),
    ...encounterOf(ctx),
    onsetDateTime: clinicalTime(ctx, 2000),
    recordedDate: clinicalTime(ctx, 10),
    recorder: { display: rng.pick(CLINICIANS) },
    note: [{ text: noteText(rng, patient, code.display.toLowerCase()) }],
  };
}

function medicationRequest(ctx: BuildContext): FhirResource {
  const { rng, patient } = ctx;
  const med = rng.pick(MEDICATIONS);
  return {
    ...head(ctx, 'MedicationRequest', `${med.code.display} for ${patient.given} ${patient.family}`),
    status: rng.chance(0.85) ? 'active' : 'completed',
    intent: 'order',
    medicationCodeableConcept: concept(med.code),
    subject: subjectOf(ctx),
    ...encounterOf(ctx),
    authoredOn: clinicalTime(ctx, 90),
    requester: { display: rng.pick(CLINICIANS) },
    dosageInstruction: [
      { text: med.dose, timing: { repeat: { frequency: rng.between(1, 2), period: 1, periodUnit: 'd' } } },
    ],
    dispenseRequest: { numberOfRepeatsAllowed: rng.between(0, 5), quantity: { value: 30, unit: 'tablet' } },
    note: [{ text: noteText(rng, patient, 'medication refill') }],
  };
}

function allergyIntolerance(ctx: BuildContext): FhirResource {
  const { rng, patient } = ctx;
  const allergen = rng.pick(ALLERGENS);
  return {
    ...head(ctx, 'AllergyIntolerance', `${allergen.code.display} (${patient.given} ${patient.family})`),
    clinicalStatus: { coding: [{ system: `${TERMINOLOGY}/allergyintolerance-clinical`, code: 'active' }] },
    verificationStatus: {
      coding: [{ system: `${TERMINOLOGY}/allergyintolerance-verification`, code: 'confirmed' }],
    },
    type: 'allergy',
    category: [allergen.category],
    criticality: rng.pick(['low', 'high', 'unable-to-assess']),
    code: concept(allergen.code),
    patient: subjectOf(ctx),
    recordedDate: clinicalTime(ctx, 365),
    reaction: [
      { manifestation: [{ text: allergen.reaction }], severity: rng.pick(['mild', 'moderate', 'severe']) },
    ],
    note: [{ text: noteText(rng, patient, allergen.code.display.toLowerCase()) }],
  };
}

function procedure(ctx: BuildContext): FhirResource {
  const { rng, patient } = ctx;
  const code = rng.pick(PROCEDURES);
  return {
    ...head(ctx, 'Procedure', `${code.display} performed on ${patient.given} ${patient.family}`),
    status: 'completed',
    category: {
      coding: [{ system: 'http://snomed.info/sct', code: '387713003', display: 'Surgical procedure' }],
    },
    code: concept(code),
    subject: subjectOf(ctx),
    ...encounterOf(ctx),
    performedDateTime: clinicalTime(ctx, 120),
    performer: [{ actor: { display: rng.pick(CLINICIANS) } }],
    location: { display: `${ctx.organization} procedure suite` },
    reasonCode: [{ text: 'Routine care per protocol' }],
    outcome: { text: rng.pick(['Uncomplicated', 'Tolerated well', 'Completed without incident']) },
    note: [{ text: noteText(rng, patient, code.display.toLowerCase()) }],
  };
}

/**
 * A clinical resource of a contracted type the simulator has no builder for yet: the resource
 * head and its patient, so a new contract is served (and its pipeline exercised) at once. A
 * builder of its own makes it realistic.
 */
export function minimalResource(ctx: BuildContext, resourceType: ClinicalType): FhirResource {
  return { ...head(ctx, resourceType, `${resourceType} of ${ctx.patient.given}`), subject: subjectOf(ctx) };
}

/** Builders of the clinical resource types; each reads only its context. */
export const CLINICAL_BUILDERS: Readonly<Partial<Record<ClinicalType, (ctx: BuildContext) => FhirResource>>> =
  {
    Encounter: encounter,
    Observation: observation,
    Condition: condition,
    MedicationRequest: medicationRequest,
    AllergyIntolerance: allergyIntolerance,
    Procedure: procedure,
  };
