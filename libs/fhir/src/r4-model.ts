/**
 * A deliberately small slice of the FHIR R4 structure definitions: the element names of the seven
 * resource types we carry, and the children of the data types (and a few backbone elements) that
 * contract paths navigate. It lets us check `fhirPath` attributes when a contract loads and spot
 * unexpected (drifted) properties in a resource.
 *
 * Notation: `'T'` is 0..1 or 1..1 of type T, `'*T'` is 0..*, and a choice element `name[x]` lists
 * its allowed types as `'T1|T2'`. Backbone elements we do not describe are `'BackboneElement'`
 * (their children are not checked).
 *
 * @see https://hl7.org/fhir/R4/resourcelist.html
 * @see https://hl7.org/fhir/R4/datatypes.html
 */
import {
  BACKBONE_BASE,
  BACKBONE_TYPES,
  COMPLEX_TYPES,
  ELEMENT_BASE,
  PRIMITIVE_TYPES,
  type ElementTable,
} from './r4-datatypes.ts';

/** The resource types with a contract in `schemas/fhir/`. */
export const FHIR_RESOURCE_TYPES = [
  'Patient',
  'Encounter',
  'Observation',
  'Condition',
  'MedicationRequest',
  'AllergyIntolerance',
  'Procedure',
] as const;

export type FhirResourceType = (typeof FHIR_RESOURCE_TYPES)[number];

/** @see https://hl7.org/fhir/R4/domainresource.html */
const DOMAIN_RESOURCE: ElementTable = {
  id: 'id',
  meta: 'Meta',
  implicitRules: 'uri',
  language: 'code',
  text: 'Narrative',
  contained: '*Resource',
  extension: '*Extension',
  modifierExtension: '*Extension',
};

const RESOURCES: Readonly<Record<FhirResourceType, ElementTable>> = {
  /** @see https://hl7.org/fhir/R4/patient.html#resource */
  Patient: {
    identifier: '*Identifier',
    active: 'boolean',
    name: '*HumanName',
    telecom: '*ContactPoint',
    gender: 'code',
    birthDate: 'date',
    'deceased[x]': 'boolean|dateTime',
    address: '*Address',
    maritalStatus: 'CodeableConcept',
    'multipleBirth[x]': 'boolean|integer',
    photo: '*Attachment',
    contact: '*BackboneElement',
    communication: '*Patient.communication',
    generalPractitioner: '*Reference',
    managingOrganization: 'Reference',
    link: '*BackboneElement',
  },
  /** @see https://hl7.org/fhir/R4/encounter.html#resource */
  Encounter: {
    identifier: '*Identifier',
    status: 'code',
    statusHistory: '*BackboneElement',
    class: 'Coding',
    classHistory: '*BackboneElement',
    type: '*CodeableConcept',
    serviceType: 'CodeableConcept',
    priority: 'CodeableConcept',
    subject: 'Reference',
    episodeOfCare: '*Reference',
    basedOn: '*Reference',
    participant: '*BackboneElement',
    appointment: '*Reference',
    period: 'Period',
    length: 'Duration',
    reasonCode: '*CodeableConcept',
    reasonReference: '*Reference',
    diagnosis: '*BackboneElement',
    account: '*Reference',
    hospitalization: 'Encounter.hospitalization',
    location: '*BackboneElement',
    serviceProvider: 'Reference',
    partOf: 'Reference',
  },
  /** @see https://hl7.org/fhir/R4/observation.html#resource */
  Observation: {
    identifier: '*Identifier',
    basedOn: '*Reference',
    partOf: '*Reference',
    status: 'code',
    category: '*CodeableConcept',
    code: 'CodeableConcept',
    subject: 'Reference',
    focus: '*Reference',
    encounter: 'Reference',
    'effective[x]': 'dateTime|Period|Timing|instant',
    issued: 'instant',
    performer: '*Reference',
    'value[x]':
      'Quantity|CodeableConcept|string|boolean|integer|Range|Ratio|SampledData|time|dateTime|Period',
    dataAbsentReason: 'CodeableConcept',
    interpretation: '*CodeableConcept',
    note: '*Annotation',
    bodySite: 'CodeableConcept',
    method: 'CodeableConcept',
    specimen: 'Reference',
    device: 'Reference',
    referenceRange: '*Observation.referenceRange',
    hasMember: '*Reference',
    derivedFrom: '*Reference',
    component: '*BackboneElement',
  },
  /** @see https://hl7.org/fhir/R4/condition.html#resource */
  Condition: {
    identifier: '*Identifier',
    clinicalStatus: 'CodeableConcept',
    verificationStatus: 'CodeableConcept',
    category: '*CodeableConcept',
    severity: 'CodeableConcept',
    code: 'CodeableConcept',
    bodySite: '*CodeableConcept',
    subject: 'Reference',
    encounter: 'Reference',
    'onset[x]': 'dateTime|Age|Period|Range|string',
    'abatement[x]': 'dateTime|Age|Period|Range|string',
    recordedDate: 'dateTime',
    recorder: 'Reference',
    asserter: 'Reference',
    stage: '*BackboneElement',
    evidence: '*BackboneElement',
    note: '*Annotation',
  },
  /** @see https://hl7.org/fhir/R4/medicationrequest.html#resource */
  MedicationRequest: {
    identifier: '*Identifier',
    status: 'code',
    statusReason: 'CodeableConcept',
    intent: 'code',
    category: '*CodeableConcept',
    priority: 'code',
    doNotPerform: 'boolean',
    'reported[x]': 'boolean|Reference',
    'medication[x]': 'CodeableConcept|Reference',
    subject: 'Reference',
    encounter: 'Reference',
    supportingInformation: '*Reference',
    authoredOn: 'dateTime',
    requester: 'Reference',
    performer: 'Reference',
    performerType: 'CodeableConcept',
    recorder: 'Reference',
    reasonCode: '*CodeableConcept',
    reasonReference: '*Reference',
    instantiatesCanonical: '*canonical',
    instantiatesUri: '*uri',
    basedOn: '*Reference',
    groupIdentifier: 'Identifier',
    courseOfTherapyType: 'CodeableConcept',
    insurance: '*Reference',
    note: '*Annotation',
    dosageInstruction: '*Dosage',
    dispenseRequest: 'MedicationRequest.dispenseRequest',
    substitution: 'BackboneElement',
    priorPrescription: 'Reference',
    detectedIssue: '*Reference',
    eventHistory: '*Reference',
  },
  /** @see https://hl7.org/fhir/R4/allergyintolerance.html#resource */
  AllergyIntolerance: {
    identifier: '*Identifier',
    clinicalStatus: 'CodeableConcept',
    verificationStatus: 'CodeableConcept',
    type: 'code',
    category: '*code',
    criticality: 'code',
    code: 'CodeableConcept',
    patient: 'Reference',
    encounter: 'Reference',
    'onset[x]': 'dateTime|Age|Period|Range|string',
    recordedDate: 'dateTime',
    recorder: 'Reference',
    asserter: 'Reference',
    lastOccurrence: 'dateTime',
    note: '*Annotation',
    reaction: '*AllergyIntolerance.reaction',
  },
  /** @see https://hl7.org/fhir/R4/procedure.html#resource */
  Procedure: {
    identifier: '*Identifier',
    instantiatesCanonical: '*canonical',
    instantiatesUri: '*uri',
    basedOn: '*Reference',
    partOf: '*Reference',
    status: 'code',
    statusReason: 'CodeableConcept',
    category: 'CodeableConcept',
    code: 'CodeableConcept',
    subject: 'Reference',
    encounter: 'Reference',
    'performed[x]': 'dateTime|Period|string|Age|Range',
    recorder: 'Reference',
    asserter: 'Reference',
    performer: '*BackboneElement',
    location: 'Reference',
    reasonCode: '*CodeableConcept',
    reasonReference: '*Reference',
    bodySite: '*CodeableConcept',
    outcome: 'CodeableConcept',
    report: '*Reference',
    complication: '*CodeableConcept',
    complicationDetail: '*Reference',
    followUp: '*CodeableConcept',
    note: '*Annotation',
    focalDevice: '*BackboneElement',
    usedReference: '*Reference',
    usedCode: '*CodeableConcept',
  },
};

/** What the model knows about one element as it appears in JSON. */
export interface ElementInfo {
  /** FHIR type name (`date`, `CodeableConcept`, `Patient.communication`, ...). */
  readonly type: string;
  /** 0..* elements are JSON arrays. */
  readonly array: boolean;
  /** The element name in the definition (`value[x]` for `valueQuantity`). */
  readonly definition: string;
}

export function isFhirResourceType(name: string): name is FhirResourceType {
  return (FHIR_RESOURCE_TYPES as readonly string[]).includes(name);
}

export function isPrimitiveType(type: string): boolean {
  return PRIMITIVE_TYPES.has(type);
}

/** Whether the model lists the children of `type` (a resource, data type or described backbone). */
export function isDescribedType(type: string): boolean {
  return tableOf(type) !== undefined;
}

/** The element `name` (a JSON property name) of `type`, or undefined when `type` has no such element. */
export function childOf(type: string, name: string): ElementInfo | undefined {
  return INDEX.get(type)?.get(name);
}

/** Every element of `type` by JSON property name, or undefined when the model does not describe `type`. */
export function elementsOf(type: string): ReadonlyMap<string, ElementInfo> | undefined {
  return INDEX.get(type);
}

/** The allowed types of choice element `base[x]` of `type`, or undefined when there is none. */
export function choiceTypesOf(type: string, base: string): readonly string[] | undefined {
  return TABLES.get(type)?.[`${base}[x]`]?.split('|');
}

/** JSON property suffix of a choice type: `Quantity` → `Quantity`, `dateTime` → `DateTime`. */
export function choiceSuffix(type: string): string {
  return type.charAt(0).toUpperCase() + type.slice(1);
}

function tableOf(type: string): ElementTable | undefined {
  return TABLES.get(type);
}

function buildTables(): Map<string, ElementTable> {
  const tables = new Map<string, ElementTable>();
  for (const type of FHIR_RESOURCE_TYPES) tables.set(type, { ...DOMAIN_RESOURCE, ...RESOURCES[type] });
  for (const [type, table] of Object.entries(COMPLEX_TYPES)) tables.set(type, { ...ELEMENT_BASE, ...table });
  for (const [type, table] of Object.entries(BACKBONE_TYPES))
    tables.set(type, { ...BACKBONE_BASE, ...table });
  return tables;
}

/** Per type, JSON property name → element, with every choice element expanded to its typed names. */
function buildIndex(tables: ReadonlyMap<string, ElementTable>): Map<string, Map<string, ElementInfo>> {
  const index = new Map<string, Map<string, ElementInfo>>();
  for (const [type, table] of tables) {
    const elements = new Map<string, ElementInfo>();
    for (const [key, spec] of Object.entries(table)) {
      if (key.endsWith('[x]')) {
        const base = key.slice(0, -3);
        for (const choice of spec.split('|')) {
          elements.set(base + choiceSuffix(choice), { type: choice, array: false, definition: key });
        }
      } else {
        const array = spec.startsWith('*');
        elements.set(key, { type: array ? spec.slice(1) : spec, array, definition: key });
      }
    }
    index.set(type, elements);
  }
  return index;
}

const TABLES = buildTables();
const INDEX = buildIndex(TABLES);
