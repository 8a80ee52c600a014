/**
 * The resource types of `deploy/local/topics.json`: the loader consumes `ehr.clean.<Type>` and
 * reconciliation scans `ehr.valid.<Type>` / `ehr.clean.<Type>` for each, unless told otherwise.
 */
export const RESOURCE_TYPES: readonly string[] = [
  'Patient',
  'Encounter',
  'Observation',
  'Condition',
  'MedicationRequest',
  'AllergyIntolerance',
  'Procedure',
];
