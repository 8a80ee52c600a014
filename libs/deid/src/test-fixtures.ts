/**
 * Test support (not exported from the package index): the FHIR contracts from `schemas/fhir/` and
 * synthetic flat records shaped like decrypted `ehr.valid.<Type>` values. Every name, number,
 * address and date is invented; SSN area 000 and 555-01xx phone numbers are never assigned.
 */
import { loadSchemaSet, type Contract } from '@ehrflow/contracts';

/** Every contracted resource type (the generated pipeline manifest). */
export { RESOURCE_TYPES } from '@ehrflow/contracts';

export interface FhirContracts {
  readonly contracts: Readonly<Record<string, Contract>>;
  readonly schemas: Readonly<Record<string, unknown>>;
}

let cached: FhirContracts | undefined;

/** The FHIR contracts and their schema JSON, by resource type. */
export function fhirContracts(): FhirContracts {
  if (cached !== undefined) return cached;
  const set = loadSchemaSet();
  const contracts: Record<string, Contract> = {};
  const schemas: Record<string, unknown> = {};
  for (const file of set.files.filter((f) => f.group === 'fhir')) {
    const type = file.name.slice(file.name.lastIndexOf('.') + 1);
    contracts[type] = file.contract;
    schemas[type] = file.json;
  }
  cached = { contracts, schemas };
  return cached;
}

/** Identifiers of one synthetic person. */
export interface Person {
  readonly id: string;
  readonly sourceId: string;
  readonly mrn: string;
  readonly ssn: string;
  readonly family: string;
  readonly given: readonly string[];
  readonly phone: string;
  readonly email: string;
  readonly birthDate: string;
  readonly line: string;
  readonly city: string;
  readonly zip: string;
}

export const JANE: Person = {
  id: 'pat-7f3a9c21',
  sourceId: 'site-a',
  mrn: 'MRN-4471902',
  ssn: '000-12-3456',
  family: 'Quibbleworth',
  given: ['Marisol', 'Ysolde'],
  phone: '(555) 010-4477',
  email: 'marisol.q@example.org',
  birthDate: '1961-03-03',
  line: '42 Larkspur Lane',
  city: 'Fernhollow',
  zip: '02139-4307',
};

function meta(person: Person, type: string, n: number): Record<string, unknown> {
  return {
    recordId: `${type.toLowerCase()}${n}`.padEnd(32, '0').slice(0, 32),
    jobId: 'job-test-1',
    sourceId: person.sourceId,
    versionId: '1',
    sourceLocator: `search page 1 entry ${n}`,
    contractVersion: 1,
  };
}

/** A Patient record for a person. */
export function patientRecord(
  person: Person,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    ...meta(person, 'Patient', 1),
    logicalId: person.id,
    lastUpdated: '2024-05-01T10:00:00Z',
    patientRef: `Patient/${person.id}`,
    identifierMrn: person.mrn,
    identifierSsn: person.ssn,
    active: true,
    nameFamily: person.family,
    nameGiven: [...person.given],
    telecomPhone: person.phone,
    telecomEmail: person.email,
    gender: 'female',
    birthDate: person.birthDate,
    deceasedBoolean: false,
    deceasedDateTime: null,
    addressLine: [person.line],
    addressCity: person.city,
    addressState: 'MA',
    addressPostalCode: person.zip,
    addressCountry: 'US',
    maritalStatusCode: 'M',
    communicationLanguage: 'en-US',
    managingOrganizationRef: 'Organization/org-1',
    ...overrides,
  };
}

/** An Observation of a person with a free-text note that mentions the person's identifiers. */
export function observationRecord(
  person: Person,
  n: number,
  note: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    ...meta(person, 'Observation', n),
    logicalId: `obs-${person.id}-${n}`,
    lastUpdated: '2024-05-02T12:05:00Z',
    patientRef: `Patient/${person.id}`,
    status: 'final',
    categoryCodes: ['laboratory'],
    codeCode: '718-7',
    codeSystem: 'http://loinc.org',
    codeLoinc: '718-7',
    encounterRef: `Encounter/enc-${person.id}`,
    effectiveType: 'DateTime',
    effectiveDateTime: '2024-04-29T07:15:00-05:00',
    effectivePeriodStart: null,
    effectivePeriodEnd: null,
    issued: '2024-04-29T09:00:00.000Z',
    valueType: 'String',
    valueQuantityValue: null,
    valueQuantityUnit: null,
    valueQuantityCode: null,
    valueCodeableConceptCode: null,
    valueCodeableConceptSystem: null,
    valueString: note,
    valueBoolean: null,
    valueInteger: null,
    valueDateTime: null,
    interpretationCodes: [],
    referenceRangeLow: null,
    referenceRangeHigh: null,
    noteText: [note],
    ...overrides,
  };
}

/** A note that mentions every identifier of the person, in the ways clinicians write them. */
export function identifyingNote(person: Person): string {
  const [first] = person.given;
  return (
    `Pt ${first ?? ''} ${person.family} (MRN ${person.mrn}) seen on 2024-04-29 and March 3. ` +
    `Ms. ${person.family} reports her SSN ${person.ssn}; call ${person.phone} or ${person.email}. ` +
    `Lives at ${person.line}, ${person.city}, MA ${person.zip.slice(0, 5)}. ` +
    `Mother is a 93-year-old; see https://portal.example.org/p/${person.id} from 10.0.0.12.`
  );
}

/**
 * A plausible record for any contract, built from its field types and attributes: references
 * point at `<Type>/<id>`, dates are FHIR dates, other strings are short synthetic text.
 */
export function genericRecord(contract: Contract, person: Person, n = 1): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const field of contract.fields.filter((f) => !/[.[{]/.test(f.path))) {
    record[field.name] = field.avroType.startsWith('array<record ')
      ? [genericItem(contract, field.path, person, n)]
      : genericValue(field.name, field.avroType, field.attrs, person, n);
  }
  record.recordId = `r${n}`.padEnd(32, '0');
  record.sourceId = person.sourceId;
  record.contractVersion = 1;
  return record;
}

/** One record of an array-of-records field, its sub-fields filled like top-level ones. */
function genericItem(contract: Contract, path: string, person: Person, n: number): Record<string, unknown> {
  const prefix = `${path}[].`;
  const item: Record<string, unknown> = {};
  for (const f of contract.fields.filter(
    (x) => x.path.startsWith(prefix) && !x.path.slice(prefix.length).includes('.'),
  )) {
    const value = genericValue(f.name, f.avroType, f.attrs, person, n);
    item[f.name] = f.avroType.startsWith('array<') && !Array.isArray(value) ? [value] : value;
  }
  return item;
}

function genericValue(
  name: string,
  avroType: string,
  attrs: Readonly<Record<string, unknown>>,
  person: Person,
  n: number,
): unknown {
  if (avroType === 'array<double>' || avroType === 'array<float>') return [n + 0.5];
  if (avroType === 'array<int>' || avroType === 'array<long>') return [n];
  if (avroType === 'array<string>') {
    return name === 'noteText' ? [identifyingNote(person)] : [`${name}-code-${n}`];
  }
  switch (avroType) {
    case 'int':
    case 'long':
      return n;
    case 'float':
    case 'double':
      return n + 0.5;
    case 'boolean':
      return true;
    default:
      break;
  }
  const fhirType = attrs.fhirType;
  if (attrs.referenceTo === 'Patient') return `Patient/${person.id}`;
  if (typeof attrs.referenceTo === 'string')
    return `${attrs.referenceTo}/${attrs.referenceTo.toLowerCase()}-${person.id}-${n}`;
  if (name === 'logicalId') return `res-${person.id}-${n}`;
  if (fhirType === 'date') return '2019-07-14';
  if (fhirType === 'dateTime' || fhirType === 'instant') return '2019-07-14T08:30:00Z';
  if (/Ref(erence)?$/.test(name)) return `Medication/med-${n}`;
  if (/^(valueString|onsetString|dosageText)$/.test(name)) return identifyingNote(person);
  return `${name}-${n}`;
}
