/**
 * Builders of the US Core types beyond the first seven (immunizations, reports, documents, care
 * plans and teams, devices, imaging) and of billing through FHIR (Coverage, Claim,
 * ExplanationOfBenefit), plus the non-patient resources they point at (Organization, Practitioner,
 * Location). Shaped like what real servers (Synthea exports, US Core servers) send. Every value is
 * invented; ids carry no PHI.
 *
 * @see https://hl7.org/fhir/us/core/STU6.1/profiles-and-extensions.html
 */
import type { BuildContext, FhirResource } from './clinical-resources.ts';
import { narrative } from './notes.ts';
import type { ClinicalType } from './resource-types.ts';
import { CLINICIANS, type Coded } from './synthetic-values.ts';

const DAY_MS = 86_400_000;
const TERMINOLOGY = 'http://terminology.hl7.org/CodeSystem';
const LOINC = 'http://loinc.org';
const SNOMED = 'http://snomed.info/sct';
const CPT = 'http://www.ama-assn.org/go/cpt';
const NPI = 'http://hl7.org/fhir/sid/us-npi';

const concept = (coded: Coded) => ({ coding: [coded], text: coded.display });
const code = (system: string, c: string, display: string): Coded => ({ system, code: c, display });

function head(ctx: BuildContext, resourceType: ClinicalType, summary: string): FhirResource {
  return { resourceType, id: ctx.id, meta: ctx.meta, text: narrative(summary) };
}

function patientRef(ctx: BuildContext): { reference: string; display: string } {
  return { reference: `Patient/${ctx.patientId}`, display: `${ctx.patient.given} ${ctx.patient.family}` };
}

function encounterOf(ctx: BuildContext): { encounter?: { reference: string } } {
  return ctx.encounterId === undefined ? {} : { encounter: { reference: `Encounter/${ctx.encounterId}` } };
}

/** A time shortly before the resource was last updated. */
function timeBefore(ctx: BuildContext, maxDays: number): string {
  return new Date(ctx.lastUpdatedMs - ctx.rng.int(maxDays * 24) * 3_600_000 - DAY_MS).toISOString();
}

/** The site's organization and one of its clinicians, as references (ids carry no PHI). */
const organizationRef = (ctx: BuildContext) => ({ reference: `Organization/org-${ctx.organization}` });
const practitionerRef = (ctx: BuildContext) => ({
  reference: `Practitioner/prac-${ctx.rng.int(CLINICIANS.length)}`,
  display: ctx.rng.pick(CLINICIANS),
});
const payerRef = (ctx: BuildContext) => ({
  reference: `Organization/payer-${ctx.rng.int(3)}`,
  display: ctx.rng.pick(['Synthetic Health Plan', 'Mock Mutual', 'Placeholder Care Insurance']),
});

const VACCINES = [
  code('http://hl7.org/fhir/sid/cvx', '140', 'Influenza, seasonal, injectable, preservative free'),
  code('http://hl7.org/fhir/sid/cvx', '208', 'SARS-COV-2 (COVID-19) vaccine, mRNA'),
  code('http://hl7.org/fhir/sid/cvx', '113', 'Td (adult) preservative free'),
  code('http://hl7.org/fhir/sid/cvx', '133', 'Pneumococcal conjugate PCV 13'),
];
const REPORTS = [
  code(LOINC, '58410-2', 'CBC panel - Blood by Automated count'),
  code(LOINC, '51990-0', 'Basic metabolic panel - Blood'),
  code(LOINC, '24323-8', 'Comprehensive metabolic 2000 panel - Serum or Plasma'),
  code(LOINC, '57698-3', 'Lipid panel with direct LDL - Serum or Plasma'),
];
const DOCUMENTS = [
  code(LOINC, '34117-2', 'History and physical note'),
  code(LOINC, '11506-3', 'Progress note'),
  code(LOINC, '18842-5', 'Discharge summary'),
];
const PLAN_ACTIVITIES = [
  code(SNOMED, '229065009', 'Exercise therapy'),
  code(SNOMED, '226234005', 'Healthy diet'),
  code(SNOMED, '183063000', 'Low salt diet education'),
];
const DEVICES = [
  code(SNOMED, '702172008', 'Home continuous positive airway pressure unit'),
  code(SNOMED, '337414009', 'Blood glucose meter'),
  code(SNOMED, '72506001', 'Implantable defibrillator'),
];
const MODALITIES = [
  code('http://dicom.nema.org/resources/ontology/DCM', 'CT', 'Computed Tomography'),
  code('http://dicom.nema.org/resources/ontology/DCM', 'MR', 'Magnetic Resonance'),
  code('http://dicom.nema.org/resources/ontology/DCM', 'DX', 'Digital Radiography'),
];
const SERVICES = [
  code(CPT, '99213', 'Office visit, established patient, 20-29 minutes'),
  code(CPT, '80053', 'Comprehensive metabolic panel'),
  code(CPT, '85025', 'Complete blood count with differential'),
  code(CPT, '90686', 'Influenza vaccine, quadrivalent'),
];

function immunization(ctx: BuildContext): FhirResource {
  const { rng, patient } = ctx;
  const vaccine = rng.pick(VACCINES);
  return {
    ...head(ctx, 'Immunization', `${vaccine.display} given to ${patient.given} ${patient.family}`),
    status: 'completed',
    vaccineCode: concept(vaccine),
    patient: patientRef(ctx),
    ...encounterOf(ctx),
    occurrenceDateTime: timeBefore(ctx, 365),
    primarySource: true,
    lotNumber: `LOT${rng.digits(6)}`,
    site: concept(code(`${TERMINOLOGY}/v3-ActSite`, rng.pick(['LA', 'RA']), 'Upper arm')),
    route: concept(code(`${TERMINOLOGY}/v3-RouteOfAdministration`, 'IM', 'Injection, intramuscular')),
    performer: [{ actor: practitionerRef(ctx) }],
  };
}

function diagnosticReport(ctx: BuildContext): FhirResource {
  const { rng, patient } = ctx;
  const report = rng.pick(REPORTS);
  const effective = timeBefore(ctx, 60);
  return {
    ...head(ctx, 'DiagnosticReport', `${report.display} for ${patient.given} ${patient.family}`),
    status: 'final',
    category: [concept(code(`${TERMINOLOGY}/v2-0074`, 'LAB', 'Laboratory'))],
    code: concept(report),
    subject: patientRef(ctx),
    ...encounterOf(ctx),
    effectiveDateTime: effective,
    issued: new Date(Date.parse(effective) + 7_200_000).toISOString(),
    performer: [organizationRef(ctx)],
    result: [
      { reference: `Observation/obs-${rng.int(1000)}` },
      { reference: `Observation/obs-${rng.int(1000)}` },
    ],
  };
}

function documentReference(ctx: BuildContext): FhirResource {
  const { rng, patient } = ctx;
  const type = rng.pick(DOCUMENTS);
  return {
    ...head(ctx, 'DocumentReference', `${type.display} of ${patient.given} ${patient.family}`),
    status: 'current',
    docStatus: 'final',
    type: concept(type),
    category: [
      concept(
        code(
          'http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category',
          'clinical-note',
          'Clinical Note',
        ),
      ),
    ],
    subject: patientRef(ctx),
    date: timeBefore(ctx, 90),
    author: [practitionerRef(ctx)],
    custodian: organizationRef(ctx),
    content: [
      { attachment: { contentType: 'text/plain', url: `Binary/doc-${ctx.id}`, title: type.display } },
    ],
    ...(ctx.encounterId === undefined
      ? {}
      : { context: { encounter: [{ reference: `Encounter/${ctx.encounterId}` }] } }),
  };
}

function carePlan(ctx: BuildContext): FhirResource {
  const { rng, patient } = ctx;
  const activity = rng.pick(PLAN_ACTIVITIES);
  return {
    ...head(ctx, 'CarePlan', `Care plan of ${patient.given} ${patient.family}: ${activity.display}`),
    status: rng.chance(0.8) ? 'active' : 'completed',
    intent: 'plan',
    category: [
      concept(
        code(
          'http://hl7.org/fhir/us/core/CodeSystem/careplan-category',
          'assess-plan',
          'Assessment and Plan',
        ),
      ),
    ],
    subject: patientRef(ctx),
    ...encounterOf(ctx),
    period: { start: timeBefore(ctx, 200) },
    activity: [{ detail: { code: concept(activity), status: 'in-progress' } }],
  };
}

function careTeam(ctx: BuildContext): FhirResource {
  const { patient } = ctx;
  return {
    ...head(ctx, 'CareTeam', `Care team of ${patient.given} ${patient.family}`),
    status: 'active',
    subject: patientRef(ctx),
    ...encounterOf(ctx),
    period: { start: timeBefore(ctx, 300) },
    participant: [
      { role: [concept(code(SNOMED, '116154003', 'Patient'))], member: patientRef(ctx) },
      { role: [concept(code(SNOMED, '223366009', 'Healthcare professional'))], member: practitionerRef(ctx) },
    ],
    managingOrganization: [organizationRef(ctx)],
  };
}

function device(ctx: BuildContext): FhirResource {
  const { rng, patient } = ctx;
  const type = rng.pick(DEVICES);
  return {
    ...head(ctx, 'Device', `${type.display} used by ${patient.given} ${patient.family}`),
    udiCarrier: [
      { deviceIdentifier: `0${rng.digits(13)}`, carrierHRF: `(01)0${rng.digits(13)}(21)SN${rng.digits(6)}` },
    ],
    status: 'active',
    manufacturer: rng.pick(['Acme Devices', 'Placeholder Medical']),
    expirationDate: new Date(ctx.lastUpdatedMs + 400 * DAY_MS).toISOString().slice(0, 10),
    modelNumber: `M-${rng.digits(4)}`,
    type: concept(type),
    patient: patientRef(ctx),
  };
}

function imagingStudy(ctx: BuildContext): FhirResource {
  const { rng, patient } = ctx;
  const modality = rng.pick(MODALITIES);
  const series = 1 + rng.int(3);
  return {
    ...head(ctx, 'ImagingStudy', `${modality.display} study of ${patient.given} ${patient.family}`),
    identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:2.25.${rng.digits(18)}` }],
    status: 'available',
    modality: [modality],
    subject: patientRef(ctx),
    ...encounterOf(ctx),
    started: timeBefore(ctx, 120),
    numberOfSeries: series,
    numberOfInstances: series * (1 + rng.int(20)),
    procedureCode: [concept(code(SNOMED, '168537006', 'Plain radiography'))],
    series: Array.from({ length: series }, (_, i) => ({
      uid: `2.25.${rng.digits(18)}`,
      number: i + 1,
      modality,
      bodySite: code(SNOMED, '51185008', 'Thoracic structure'),
    })),
  };
}

function organization(ctx: BuildContext): FhirResource {
  const { rng } = ctx;
  const name = `${rng.pick(['Riverside', 'Hillcrest', 'Lakeview', 'Northgate'])} ${rng.pick(['Clinic', 'Medical Group', 'Health Center'])}`;
  return {
    ...head(ctx, 'Organization', name),
    identifier: [{ system: NPI, value: `1${rng.digits(9)}` }],
    active: true,
    type: [concept(code(`${TERMINOLOGY}/organization-type`, 'prov', 'Healthcare Provider'))],
    name,
    telecom: [{ system: 'phone', value: `(555) 010-${rng.digits(4)}` }],
    address: [
      { line: [`${1 + rng.int(900)} Placeholder Ave`], city: 'Mockville', state: 'MA', postalCode: '01999' },
    ],
  };
}

function practitioner(ctx: BuildContext): FhirResource {
  const { rng } = ctx;
  const display = rng.pick(CLINICIANS);
  return {
    ...head(ctx, 'Practitioner', display),
    identifier: [{ system: NPI, value: `1${rng.digits(9)}` }],
    active: true,
    name: [{ text: display, family: display.split(' ').at(-1) ?? 'Testwell', prefix: ['Dr.'] }],
    gender: rng.pick(['female', 'male']),
    qualification: [
      { code: concept(code('http://terminology.hl7.org/CodeSystem/v2-0360', 'MD', 'Doctor of Medicine')) },
    ],
  };
}

function location(ctx: BuildContext): FhirResource {
  const { rng } = ctx;
  const name = `${ctx.organization} ${rng.pick(['Ward', 'Outpatient Suite', 'Imaging Center'])} ${1 + rng.int(9)}`;
  return {
    ...head(ctx, 'Location', name),
    status: 'active',
    name,
    type: [concept(code(`${TERMINOLOGY}/v3-RoleCode`, 'HOSP', 'Hospital'))],
    physicalType: concept(code(`${TERMINOLOGY}/location-physical-type`, 'wa', 'Ward')),
    address: { city: 'Mockville', state: 'MA', postalCode: '01999' },
    managingOrganization: organizationRef(ctx),
  };
}

function coverage(ctx: BuildContext): FhirResource {
  const { rng, patient } = ctx;
  const start = timeBefore(ctx, 700);
  return {
    ...head(ctx, 'Coverage', `Coverage of ${patient.given} ${patient.family}`),
    status: 'active',
    type: concept(
      code('http://terminology.hl7.org/CodeSystem/v3-ActCode', rng.pick(['HMO', 'PPO']), 'Health plan'),
    ),
    subscriberId: `SUB${rng.digits(8)}`,
    beneficiary: patientRef(ctx),
    relationship: concept(code(`${TERMINOLOGY}/subscriber-relationship`, 'self', 'Self')),
    period: { start, end: new Date(Date.parse(start) + 365 * DAY_MS).toISOString() },
    payor: [payerRef(ctx)],
  };
}

/** Claim items: billing code, quantity, unit price and net, as in CARIN Blue Button exports. */
function items(ctx: BuildContext, adjudicated: boolean): { items: unknown[]; total: number } {
  const { rng } = ctx;
  let total = 0;
  const out = Array.from({ length: 1 + rng.int(3) }, (_, i) => {
    const quantity = 1 + rng.int(2);
    const unit = 20 + rng.int(200);
    const net = quantity * unit;
    total += net;
    return {
      sequence: i + 1,
      productOrService: concept(rng.pick(SERVICES)),
      quantity: { value: quantity },
      unitPrice: { value: unit, currency: 'USD' },
      net: { value: net, currency: 'USD' },
      ...(adjudicated
        ? {
            adjudication: [
              {
                category: concept(code(`${TERMINOLOGY}/adjudication`, 'submitted', 'Submitted Amount')),
                amount: { value: net, currency: 'USD' },
              },
              {
                category: concept(code(`${TERMINOLOGY}/adjudication`, 'benefit', 'Benefit Amount')),
                amount: { value: Math.round(net * 0.8), currency: 'USD' },
              },
            ],
          }
        : {}),
    };
  });
  return { items: out, total };
}

function claim(ctx: BuildContext): FhirResource {
  const { patient } = ctx;
  const created = timeBefore(ctx, 90);
  const billed = items(ctx, false);
  return {
    ...head(ctx, 'Claim', `Claim for ${patient.given} ${patient.family}`),
    status: 'active',
    type: concept(code(`${TERMINOLOGY}/claim-type`, 'professional', 'Professional')),
    use: 'claim',
    patient: patientRef(ctx),
    billablePeriod: { start: created, end: created },
    created,
    provider: organizationRef(ctx),
    insurer: payerRef(ctx),
    priority: concept(code(`${TERMINOLOGY}/processpriority`, 'normal', 'Normal')),
    diagnosis: [
      {
        sequence: 1,
        diagnosisCodeableConcept: concept(code(SNOMED, '44054006', 'Diabetes mellitus type 2')),
      },
    ],
    insurance: [{ sequence: 1, focal: true, coverage: { reference: `Coverage/cov-${ctx.rng.int(100)}` } }],
    item: billed.items,
    total: { value: billed.total, currency: 'USD' },
  };
}

function explanationOfBenefit(ctx: BuildContext): FhirResource {
  const { patient } = ctx;
  const created = timeBefore(ctx, 60);
  const billed = items(ctx, true);
  return {
    ...head(ctx, 'ExplanationOfBenefit', `Explanation of benefit for ${patient.given} ${patient.family}`),
    status: 'active',
    type: concept(code(`${TERMINOLOGY}/claim-type`, 'professional', 'Professional')),
    use: 'claim',
    patient: patientRef(ctx),
    billablePeriod: { start: created, end: created },
    created,
    insurer: payerRef(ctx),
    provider: organizationRef(ctx),
    claim: { reference: `Claim/claim-${ctx.rng.int(1000)}` },
    outcome: 'complete',
    insurance: [{ focal: true, coverage: { reference: `Coverage/cov-${ctx.rng.int(100)}` } }],
    item: billed.items,
    total: [
      {
        category: concept(code(`${TERMINOLOGY}/adjudication`, 'submitted', 'Submitted Amount')),
        amount: { value: billed.total, currency: 'USD' },
      },
      {
        category: concept(code(`${TERMINOLOGY}/adjudication`, 'benefit', 'Benefit Amount')),
        amount: { value: Math.round(billed.total * 0.8), currency: 'USD' },
      },
    ],
    payment: { amount: { value: Math.round(billed.total * 0.8), currency: 'USD' } },
  };
}

/** Builders of the US Core and billing types; each reads only its context. */
export const US_CORE_BUILDERS: Readonly<Partial<Record<ClinicalType, (ctx: BuildContext) => FhirResource>>> =
  {
    Immunization: immunization,
    DiagnosticReport: diagnosticReport,
    DocumentReference: documentReference,
    CarePlan: carePlan,
    CareTeam: careTeam,
    Device: device,
    ImagingStudy: imagingStudy,
    Organization: organization,
    Practitioner: practitioner,
    Location: location,
    Coverage: coverage,
    Claim: claim,
    ExplanationOfBenefit: explanationOfBenefit,
  };
