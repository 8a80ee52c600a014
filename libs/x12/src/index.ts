/**
 * `@ehrflow/x12`: ASC X12 for the product — a streaming tokenizer that reads its delimiters from
 * the ISA, envelope integrity (ISA/IEA, GS/GE, ST/SE control numbers and counts) and the TA1 and
 * 999 acknowledgments.
 */
export {
  AK9_CODE,
  IK5_CODE,
  TA1_NOTE,
  build999,
  buildTa1,
  ta1Of,
  type AckCode,
  type AckOptions,
  type AckParty,
  type SegmentNote,
  type SetNotes,
  type Ta1Note,
} from './ack.ts';
export { ISA_LENGTH, readDelimiters, type DelimiterProblem, type X12Delimiters } from './delimiters.ts';
export {
  X12EnvelopeChecker,
  checkInterchange,
  type EnvelopeProblem,
  type GroupHeader,
  type GroupRef,
  type InterchangeCheck,
  type InterchangeHeader,
  type TransactionSetRef,
} from './envelope.ts';
export {
  X12Tokenizer,
  componentsOf,
  tokenize,
  type TokenizerOptions,
  type TokenizerProblem,
  type X12Segment,
} from './tokenizer.ts';
export {
  compileX12Mapping,
  convert,
  kindOf,
  loadX12Mapping,
  setControlOf,
  type PhiLookup,
  type X12Issue,
  type X12Mapping,
  type X12MappingResult,
  type X12Resource,
  type X12Type,
} from './fhir-mapping.ts';
