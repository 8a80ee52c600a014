/**
 * The FHIR R4 resource types the simulator serves by default (an export without `_type` lists
 * them), all in the Patient compartment.
 */
export const RESOURCE_TYPES = [
  'Patient',
  'Encounter',
  'Observation',
  'Condition',
  'MedicationRequest',
  'AllergyIntolerance',
  'Procedure',
] as const;

/**
 * Types served only when a request names them (`_type`, a search or a read): a real EHR has far
 * more types than the pipeline has contracts for, and a source may ask for one. Kept out of the
 * default export so every test that exports "everything" still gets the contracted types only.
 * Each patient has one resource of each of these types.
 */
export const ON_REQUEST_TYPES = ['Flag'] as const;

export type OnRequestType = (typeof ON_REQUEST_TYPES)[number];

/** Every type the simulator serves: the default ones, then the on-request ones. */
export const SERVED_TYPES = [...RESOURCE_TYPES, ...ON_REQUEST_TYPES] as const;

export type ResourceType = (typeof SERVED_TYPES)[number];

/** Default-served resource types that belong to one patient (everything except Patient itself). */
export type ClinicalType = Exclude<(typeof RESOURCE_TYPES)[number], 'Patient'>;

export const CLINICAL_TYPES: readonly ClinicalType[] = RESOURCE_TYPES.filter(
  (type): type is ClinicalType => type !== 'Patient',
);

/** Logical id prefixes: ids look like `obs-1234`, carry no PHI and map straight back to an index. */
const ID_PREFIX: Record<ResourceType, string> = {
  Patient: 'pat',
  Encounter: 'enc',
  Observation: 'obs',
  Condition: 'con',
  MedicationRequest: 'med',
  AllergyIntolerance: 'alg',
  Procedure: 'prc',
  Flag: 'flg',
};

/** Whether the simulator serves a type (by default or on request). */
export function isResourceType(value: string): value is ResourceType {
  return (SERVED_TYPES as readonly string[]).includes(value);
}

export function isOnRequestType(type: ResourceType): type is OnRequestType {
  return (ON_REQUEST_TYPES as readonly string[]).includes(type);
}

/** Position of a type in SERVED_TYPES; used as a hash salt. */
export function typeOrdinal(type: ResourceType): number {
  return SERVED_TYPES.indexOf(type);
}

/** Logical id of resource `index` of a type. */
export function resourceId(type: ResourceType, index: number): string {
  return `${ID_PREFIX[type]}-${index}`;
}

/** Index encoded in a logical id of the given type, or undefined when the id is not one of ours. */
export function indexOfId(type: ResourceType, id: string): number | undefined {
  const prefix = `${ID_PREFIX[type]}-`;
  if (!id.startsWith(prefix)) return undefined;
  const digits = id.slice(prefix.length);
  if (!/^(0|[1-9][0-9]{0,14})$/.test(digits)) return undefined;
  return Number(digits);
}
