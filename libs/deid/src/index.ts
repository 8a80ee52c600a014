/**
 * `@ehrflow/deid`: de-identification for clean topics. Policies are data (`schemas/policies/`),
 * processors are code (one module per method under `processors/`), and a policy is compiled and
 * checked against the contracts at start. Also: the clean schema derived from contract and policy,
 * an independent Safe Harbor checker and a canary leak scan for tests.
 *
 * @see https://www.hhs.gov/hipaa/for-professionals/privacy/special-topics/de-identification/index.html
 */
export { CLEAN_NAMESPACE, deriveCleanSchema } from './clean-schema.ts';
export {
  compilePolicy,
  type CompiledContract,
  type CompiledField,
  type CompiledPolicy,
  type RuleOrigin,
} from './compile.ts';
export {
  POLICY_FIELD,
  POLICY_VERSION_FIELD,
  createDeidentifier,
  directorySubject,
  shiftSubject,
  type Deidentifier,
  type DirectoryStep,
  type DeidentifierOptions,
  type PlainRecord,
} from './deidentify.ts';
export { parseFhirDate, shiftFhirDate, type FhirDate } from './fhir-date.ts';
export { WITHHELD_PLACEHOLDER, deidentifyFreeText, scrubFreeText, type WithheldReason } from './free-text.ts';
export { STREET_TYPES, clinicalDetectors } from './text/identifier-patterns.ts';
export { NAME_LAYERS, findNames, type NameLayer } from './text/name-detector.ts';
export {
  ALL_TEXT_LAYERS,
  NAME_PLACEHOLDER,
  TEXT_LAYERS,
  deidentifyText,
  type TextLayer,
  type TextResult,
} from './text/text-deidentifier.ts';
export { DEFAULT_MAX_RESIDUAL_RISK } from './processors/scrub.ts';
export {
  IDENTIFIER_CLASSES,
  generateCorpus,
  type CorpusOptions,
  type IdentifierClass,
  type LabelledNote,
  type LabelledSpan,
} from './text/corpus.ts';
export {
  MAX_MATCH_CHARS,
  MAX_MATCH_TOKENS,
  compileHashedIdentifiers,
  createIdentifierHasher,
  hashIdentifiers,
  isHashedEntry,
  type IdentifierHasher,
} from './hashed-identifiers.ts';
export { normalizeIdentifier, resourceIdentity, type ResourceIdentity } from './identity.ts';
export {
  KIND_PLACEHOLDERS,
  NO_IDENTIFIERS,
  chainKnownIdentifiers,
  compileKnownIdentifiers,
  identifierKeys,
  identifierKindOf,
  type IdentifierKind,
  type KnownIdentifiers,
} from './known-identifiers.ts';
export {
  createPatientDirectory,
  DEFAULT_COMPILED_PATIENTS,
  type DirectorySnapshot,
  type IdentifierPair,
  type PatientDirectory,
  type PatientDirectoryOptions,
} from './patient-directory.ts';
export { createSnapshotDirectory, type SnapshotDirectory } from './snapshot-directory.ts';
export {
  createSharedPatientDirectory,
  type DirectoryStore,
  type SharedPatientDirectory,
  type SharedPatientDirectoryOptions,
} from './shared-directory.ts';
export { leakScan, type Canary, type Haystack, type LeakHit, type LeakScanOptions } from './leak-scan.ts';
export {
  BUILT_IN_POLICIES,
  DEFAULT_POLICY,
  GENERALIZE_TARGETS,
  HASH_NORMALIZATIONS,
  METHODS,
  isMethod,
  loadPolicy,
  parsePolicy,
  parseRule,
  type GeneralizeTarget,
  type HashNormalization,
  type Method,
  type Policy,
  type Rule,
} from './policy.ts';
export { AGE_CAP, OLDEST_SHOWN_AGE, generalizeZip, inferTarget } from './processors/generalize.ts';
export { hashSettings } from './processors/hash.ts';
export { METHOD_MODULES } from './processors/index.ts';
export type {
  MethodContext,
  MethodModule,
  MethodOutput,
  RecordScope,
  ValueProcessor,
} from './processors/types.ts';
export { RESTRICTED_ZIP3 } from './restricted-zip.ts';
export {
  checkSafeHarbor,
  type SafeHarborInput,
  type SafeHarborRule,
  type SafeHarborViolation,
} from './safe-harbor-check.ts';
