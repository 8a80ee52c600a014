/**
 * FHIR R4 for the pipeline: the parser seam for raw formats and the FHIR JSON parser, a small FHIRPath subset, the mapping
 * of resources onto the flat data contracts in `schemas/fhir/`, record ids and fill-rate drift.
 *
 * @see https://hl7.org/fhir/R4/
 */
export {
  createFillRateTracker,
  type FillRateContract,
  type FillRateDrop,
  type FillRateDropReason,
  type FillRateOptions,
  type FillRateTracker,
} from './fill-rate.ts';
export { normalizeReference } from './fhir-values.ts';
export { isBlocking, type Issue, type IssueKind } from './issues.ts';
export {
  compileMapping,
  type MappableContract,
  type MapMeta,
  type MapResult,
  type MappedRecord,
  type MappedValue,
  type Mapping,
} from './mapper.ts';
export { compileMappings, type MappingSet } from './mapping-set.ts';
export {
  DEFAULT_MAX_PAYLOAD_BYTES,
  createFhirJsonParser,
  type ParseContext,
  type ParsedResource,
  type Parser,
  type ParserOptions,
  type RawFormat,
} from './parser.ts';
export {
  compilePath,
  evaluatePath,
  type CompiledPath,
  type PathCardinality,
  type PathProblem,
  type PathResult,
  type PathStep,
} from './path.ts';
export { FHIR_RESOURCE_TYPES, isFhirResourceType, type FhirResourceType } from './r4-model.ts';
export { recordIdOf, versionKeyOf } from './record-id.ts';
export { isR4ResourceType, r4ResourceTypes } from './r4-resource-types.ts';
