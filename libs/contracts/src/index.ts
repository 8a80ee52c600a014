export {
  canonicalText,
  describeType,
  parseAvro,
  parseAvroText,
  sameSchemaJson,
  type AvroSchemaJson,
  type AvroType,
} from './avro.ts';
export { createCodec, type Codec, type CodecOptions, type DecodedRecord } from './codec.ts';
export {
  COMPATIBILITY_LEVELS,
  DEFAULT_COMPATIBILITY,
  evaluateCompatibility,
  isCompatibilityLevel,
  resolutionProblem,
  type CompatibilityDirection,
  type CompatibilityLevel,
  type CompatibilityVerdict,
  type VersionedType,
} from './compatibility.ts';
export {
  contractOf,
  isPhi,
  toContractPath,
  type Contract,
  type ContractPolicy,
  type FieldContract,
  type PhiClass,
  type PhiClassification,
} from './contract.ts';
export { DELETIONS_TOPIC_SUFFIX, DELETION_SCHEMA_FILE, KIND_HEADER, deletionsTopicOf } from './deletions.ts';
export { SOURCE_PARTS_HEADER, SOURCE_RECORD_HEADER } from './source-message.ts';
export { breaksLevel, diffSchemas, type ChangeKind, type SchemaChange } from './diff.ts';
export {
  CLEAN_TOPIC_PREFIX,
  FHIR_GROUP,
  MANIFEST_FILE,
  VALID_TOPIC_PREFIX,
  shortTypeName,
  valueSubjectOf,
  findSchemasDir,
  loadSchemaFile,
  loadSchemaSet,
  type SchemaFile,
  type SchemaSet,
  type SubjectSchema,
} from './load.ts';
export {
  DEFAULT_REGISTRY_RETRY,
  createRegistry,
  type RegisteredSchema,
  type RegistryOptions,
  type SchemaById,
  type SchemaRegistry,
  type SubjectVersion,
} from './registry.ts';
export { checkSubject, registerSubject, type RegisterOutcome, type SubjectReport } from './schema-check.ts';
export { describeProblems, findValueProblems, type ValidateOptions, type ValueProblem } from './validate.ts';
export { frame, unframe, HEADER_BYTES, MAGIC_BYTE } from './wire.ts';
export type * from './generated/pipeline.ts';
export {
  buildPipelineManifest,
  generateManifestSource,
  type PipelineManifest,
  type PipelineTopicEntry,
  type ResourceEntry,
} from './manifest.ts';
export { PIPELINE_MANIFEST, RESOURCE_TYPES, type ResourceType } from './generated/manifest.ts';
export {
  BASELINES_DIR,
  baselineSchema,
  loadBaselines,
  type Baselines,
  type SourceBaseline,
} from './baselines.ts';
export { createRegistryProbe, type RegistryProbe, type RegistryProbeOptions } from './probe.ts';
export { type RegistryTransport } from './registry-http.ts';
