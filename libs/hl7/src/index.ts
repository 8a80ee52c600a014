/**
 * `@ehrflow/hl7`: HL7 v2 for the product — MLLP framing, the ER7 parser seam (over
 * `@medplum/core`'s `Hl7Message`), acknowledgments, batches and message identity.
 */
export {
  buildAck,
  ackCodeOf,
  commitAckWanted,
  isEnhancedMode,
  type AckCode,
  type AckInput,
  type AckOutcome,
  type ErrPosition,
} from './ack.ts';
export {
  batchHeaderOf,
  looksLikeBatch,
  readBlock,
  type BatchHeader,
  type BatchProblem,
  type Hl7Batch,
  type Hl7Block,
} from './batch.ts';
export { hl7RecordId, identityDigest, messageIdentity, printableControlId } from './identity.ts';
export { parseHl7, splitSegments, type AckCondition, type Hl7Header, type Hl7View } from './message.ts';
export {
  MLLP_END,
  MLLP_END_CR,
  MLLP_START,
  MllpFramer,
  frameMllp,
  type FramerOutput,
} from './mllp-framer.ts';
export {
  compileHl7Mapping,
  convert,
  kindOf,
  loadHl7Mapping,
  type Hl7Issue,
  type Hl7Mapping,
  type Hl7MappingResult,
  type Hl7Resource,
  type Hl7Type,
} from './fhir-mapping.ts';
