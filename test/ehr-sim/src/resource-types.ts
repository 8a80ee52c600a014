import {
  RESOURCE_TYPES as CONTRACTED_TYPES,
  type ResourceType as ContractedType,
} from '@ehrflow/contracts/manifest';

/**
 * The FHIR R4 resource types the simulator serves by default (an export without `_type` lists
 * them): every type with a contract in schemas/fhir/ (the generated pipeline manifest), Patient
 * first. Each is in the Patient compartment.
 */
export const RESOURCE_TYPES = CONTRACTED_TYPES;

/**
 * Types served only when a request names them (`_type`, a search or a read): a real EHR has far
 * more types than the pipeline has contracts for, and a source may ask for one. Kept out of the
 * default export so every test that exports "everything" still gets the contracted types only.
 * Each patient has one resource of each of these types.
 */
export const ON_REQUEST_TYPES = ['Flag'] as const;

export type OnRequestType = (typeof ON_REQUEST_TYPES)[number];

/** Every type the simulator serves: the default ones, then the on-request ones. */
export const SERVED_TYPES: readonly (ContractedType | OnRequestType)[] = [
  ...RESOURCE_TYPES,
  ...ON_REQUEST_TYPES,
];

export type ResourceType = ContractedType | OnRequestType;

/** Default-served resource types that belong to one patient (everything except Patient itself). */
export type ClinicalType = Exclude<ContractedType, 'Patient'>;

export const CLINICAL_TYPES: readonly ClinicalType[] = RESOURCE_TYPES.filter(
  (type): type is ClinicalType => type !== 'Patient',
);

/**
 * Logical id prefixes: ids look like `obs-1234`, carry no PHI and map straight back to an index.
 * A type not listed uses its lower-cased name (`immunization-12`).
 */
const ID_PREFIX: Readonly<Record<string, string>> = {
  Patient: 'pat',
  Encounter: 'enc',
  Observation: 'obs',
  Condition: 'con',
  MedicationRequest: 'med',
  AllergyIntolerance: 'alg',
  Procedure: 'prc',
  Flag: 'flg',
};

/**
 * Hash salt per type. The first types keep the ordinals they always had, so the same seed still
 * gives the same bytes when a contract is added; other types take a salt from their name.
 */
const SALT_ORDINAL: Readonly<Record<string, number>> = {
  Patient: 0,
  Encounter: 1,
  Observation: 2,
  Condition: 3,
  MedicationRequest: 4,
  AllergyIntolerance: 5,
  Procedure: 6,
  Flag: 7,
};

/** Contracted types added after the first seven: served sparsely by default (see SPARSE_PER_PATIENT). */
export function isSparseType(type: ResourceType): boolean {
  return SALT_ORDINAL[type] === undefined;
}

function idPrefix(type: ResourceType): string {
  return ID_PREFIX[type] ?? type.toLowerCase();
}

/** Whether the simulator serves a type (by default or on request). */
export function isResourceType(value: string): value is ResourceType {
  return (SERVED_TYPES as readonly string[]).includes(value);
}

export function isOnRequestType(type: ResourceType): type is OnRequestType {
  return (ON_REQUEST_TYPES as readonly string[]).includes(type);
}

/** A small number per type, used as a hash salt. */
export function typeOrdinal(type: ResourceType): number {
  const fixed = SALT_ORDINAL[type];
  if (fixed !== undefined) return fixed;
  let h = 0;
  for (const ch of type) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return 1000 + (h % 1_000_000);
}

/** Logical id of resource `index` of a type. */
export function resourceId(type: ResourceType, index: number): string {
  return `${idPrefix(type)}-${index}`;
}

/** Index encoded in a logical id of the given type, or undefined when the id is not one of ours. */
export function indexOfId(type: ResourceType, id: string): number | undefined {
  const prefix = `${idPrefix(type)}-`;
  if (!id.startsWith(prefix)) return undefined;
  const digits = id.slice(prefix.length);
  if (!/^(0|[1-9][0-9]{0,14})$/.test(digits)) return undefined;
  return Number(digits);
}
