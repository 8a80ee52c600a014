import { RESOURCE_TYPES as CONTRACTED_TYPES } from '@ehrflow/contracts/manifest';

/**
 * The resource types with a contract in schemas/fhir/ (the generated pipeline manifest): the
 * loader consumes `ehr.clean.<Type>` and reconciliation scans `ehr.valid.<Type>` /
 * `ehr.clean.<Type>` for each, unless told otherwise.
 */
export const RESOURCE_TYPES: readonly string[] = CONTRACTED_TYPES;
