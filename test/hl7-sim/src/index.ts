/** `@ehrflow/hl7-sim`: a hostile HL7 v2 sender (synthetic, seeded messages over MLLP) for tests and the benchmark. */
export {
  MESSAGE_TYPES,
  seededRandom,
  syntheticBatch,
  syntheticMessage,
  type BatchOptions,
  type Drift,
  type MessageOptions,
  type SimMessageType,
} from './messages.ts';
export { MllpSender, readAck, type SeenAck } from './sender.ts';
export { runFeed, type FeedOptions, type FeedResult } from './feed.ts';
