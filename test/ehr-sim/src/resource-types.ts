/** The FHIR R4 resource types the simulator serves, all in the Patient compartment. */
export const RESOURCE_TYPES = [
  'Patient',
  'Encounter',
  'Observation',
  'Condition',
  'MedicationRequest',
  'AllergyIntolerance',
  'Procedure',
] as const;

export type ResourceType = (typeof RESOURCE_TYPES)[number];

/** Resource types that belong to one patient (everything except Patient itself). */
export type ClinicalType = Exclude<ResourceType, 'Patient'>;

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
};

export function isResourceType(value: string): value is ResourceType {
  return (RESOURCE_TYPES as readonly string[]).includes(value);
}

/** Position of a type in RESOURCE_TYPES; used as a hash salt. */
export function typeOrdinal(type: ResourceType): number {
  return RESOURCE_TYPES.indexOf(type);
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
