export { createSimulator, type Simulator } from './simulator.ts';
export type { ExportOptions, GroupDefinition, ResolvedOptions, SimulatorOptions } from './options.ts';
export type { ClientRegistration, TokenGrant } from './auth.ts';
export { JWT_BEARER } from './auth.ts';
export type { ClientCounters, CountersSnapshot } from './counters.ts';
export {
  ABSURD_RETRY_AFTER_SECONDS,
  mergeFaults,
  NO_FAULTS,
  type DriftRule,
  type Faults,
  type FaultsInput,
  type RetryAfterMode,
} from './faults.ts';
export { CANARY_FIELDS, type Canary, type CanaryValues, type PatientIdentity } from './identity.ts';
export type { FhirResource } from './clinical-resources.ts';
export { mrnSystem, ResourceGenerator, SSN_SYSTEM } from './generator.ts';
export { NOTE_PEOPLE_CANARIES } from './notes.ts';
export { hashString, Rng } from './prng.ts';
export type { ExportManifest } from './export-jobs.ts';
export { RATE_LIMIT_EXTENSION } from './fhir-routes.ts';
export {
  CLINICAL_TYPES,
  RESOURCE_TYPES,
  resourceId,
  type ClinicalType,
  type ResourceType,
} from './resource-types.ts';
