/**
 * The FHIR R4 data types (and the few backbone elements) that contract paths navigate: their
 * children in the notation of r4-model.ts (`'T'`, `'*T'` for 0..*, `'T1|T2'` for a choice).
 *
 * @see https://hl7.org/fhir/R4/datatypes.html
 */

export type ElementTable = Readonly<Record<string, string>>;

const QUANTITY: ElementTable = {
  value: 'decimal',
  comparator: 'code',
  unit: 'string',
  system: 'uri',
  code: 'code',
};

/** Children of complex data types (each also has `id` and `extension`, added when the model is built). */
export const COMPLEX_TYPES: Readonly<Record<string, ElementTable>> = {
  Identifier: {
    use: 'code',
    type: 'CodeableConcept',
    system: 'uri',
    value: 'string',
    period: 'Period',
    assigner: 'Reference',
  },
  HumanName: {
    use: 'code',
    text: 'string',
    family: 'string',
    given: '*string',
    prefix: '*string',
    suffix: '*string',
    period: 'Period',
  },
  ContactPoint: { system: 'code', value: 'string', use: 'code', rank: 'positiveInt', period: 'Period' },
  Address: {
    use: 'code',
    type: 'code',
    text: 'string',
    line: '*string',
    city: 'string',
    district: 'string',
    state: 'string',
    postalCode: 'string',
    country: 'string',
    period: 'Period',
  },
  CodeableConcept: { coding: '*Coding', text: 'string' },
  Coding: { system: 'uri', version: 'string', code: 'code', display: 'string', userSelected: 'boolean' },
  Reference: { reference: 'string', type: 'uri', identifier: 'Identifier', display: 'string' },
  Period: { start: 'dateTime', end: 'dateTime' },
  Quantity: QUANTITY,
  Age: QUANTITY,
  Duration: QUANTITY,
  SimpleQuantity: QUANTITY,
  Range: { low: 'SimpleQuantity', high: 'SimpleQuantity' },
  Ratio: { numerator: 'Quantity', denominator: 'Quantity' },
  Meta: {
    versionId: 'id',
    lastUpdated: 'instant',
    source: 'uri',
    profile: '*canonical',
    security: '*Coding',
    tag: '*Coding',
  },
  Annotation: { 'author[x]': 'Reference|string', time: 'dateTime', text: 'markdown' },
  Narrative: { status: 'code', div: 'xhtml' },
  Attachment: {
    contentType: 'code',
    language: 'code',
    data: 'base64Binary',
    url: 'url',
    size: 'unsignedInt',
    hash: 'base64Binary',
    title: 'string',
    creation: 'dateTime',
  },
  SampledData: {
    origin: 'SimpleQuantity',
    period: 'decimal',
    factor: 'decimal',
    lowerLimit: 'decimal',
    upperLimit: 'decimal',
    dimensions: 'positiveInt',
    data: 'string',
  },
  Dosage: {
    sequence: 'integer',
    text: 'string',
    additionalInstruction: '*CodeableConcept',
    patientInstruction: 'string',
    timing: 'Timing',
    'asNeeded[x]': 'boolean|CodeableConcept',
    site: 'CodeableConcept',
    route: 'CodeableConcept',
    method: 'CodeableConcept',
    doseAndRate: '*Dosage.doseAndRate',
    maxDosePerPeriod: 'Ratio',
    maxDosePerAdministration: 'SimpleQuantity',
    maxDosePerLifetime: 'SimpleQuantity',
  },
};

/** Backbone elements whose children contract paths use (each also has `modifierExtension`). */
export const BACKBONE_TYPES: Readonly<Record<string, ElementTable>> = {
  'Patient.communication': { language: 'CodeableConcept', preferred: 'boolean' },
  'Encounter.hospitalization': {
    preAdmissionIdentifier: 'Identifier',
    origin: 'Reference',
    admitSource: 'CodeableConcept',
    reAdmission: 'CodeableConcept',
    dietPreference: '*CodeableConcept',
    specialCourtesy: '*CodeableConcept',
    specialArrangement: '*CodeableConcept',
    destination: 'Reference',
    dischargeDisposition: 'CodeableConcept',
  },
  'Observation.referenceRange': {
    low: 'SimpleQuantity',
    high: 'SimpleQuantity',
    type: 'CodeableConcept',
    appliesTo: '*CodeableConcept',
    age: 'Range',
    text: 'string',
  },
  'MedicationRequest.dispenseRequest': {
    initialFill: 'BackboneElement',
    dispenseInterval: 'Duration',
    validityPeriod: 'Period',
    numberOfRepeatsAllowed: 'unsignedInt',
    quantity: 'SimpleQuantity',
    expectedSupplyDuration: 'Duration',
    performer: 'Reference',
  },
  'AllergyIntolerance.reaction': {
    substance: 'CodeableConcept',
    manifestation: '*CodeableConcept',
    description: 'string',
    onset: 'dateTime',
    severity: 'code',
    exposureRoute: 'CodeableConcept',
    note: '*Annotation',
  },
  // A SimpleQuantity choice is named after Quantity in JSON (doseQuantity), so it is listed as Quantity.
  'Dosage.doseAndRate': {
    type: 'CodeableConcept',
    'dose[x]': 'Range|Quantity',
    'rate[x]': 'Ratio|Range|Quantity',
  },
};

export const ELEMENT_BASE: ElementTable = { id: 'string', extension: '*Extension' };
export const BACKBONE_BASE: ElementTable = { ...ELEMENT_BASE, modifierExtension: '*Extension' };

/** @see https://hl7.org/fhir/R4/datatypes.html#primitive */
export const PRIMITIVE_TYPES = new Set([
  'boolean',
  'integer',
  'positiveInt',
  'unsignedInt',
  'decimal',
  'string',
  'code',
  'id',
  'uri',
  'url',
  'canonical',
  'oid',
  'uuid',
  'markdown',
  'base64Binary',
  'date',
  'dateTime',
  'instant',
  'time',
  'xhtml',
]);
