/**
 * `@ehrflow/kafka`: the only place the product talks to Kafka. A client factory (TLS, SASL,
 * logging, retries), an idempotent producer of codec-encoded records, a consumer runner that
 * never commits an offset before its outputs are durable, lag helpers and the declarative topic
 * list. kafkajs stays behind this boundary so it can be swapped.
 */
// First, before any module that loads kafkajs: they swap functions kafkajs captures when it loads.
import './crc32c-patch.ts';
import './grouping-patch.ts';
import './record-patch.ts';
import './txn-retry-patch.ts';
export { consumerLag, connectAdmin, totalLag, type LagAdmin, type PartitionLag } from './admin.ts';
export {
  RECORD_MARGIN_BYTES,
  createTopicLimits,
  readTopicLimits,
  recordLimit,
  sendLimit,
  type ConfigAdmin,
  type TopicLimits,
} from './topic-limits.ts';
export { DEFAULT_BACKOFF, type BackoffPolicy } from './consumer-runner.ts';
export type { BatchHandler, BeforeCommitHook, ChunkInfo, QuarantineHook } from './chunk-processor.ts';
export {
  DEFAULT_KAFKA_RETRY,
  createKafka,
  toKafkaJsConfig,
  type KafkaClient,
  type KafkaClientConfig,
  type KafkaMode,
  type KafkaRetryConfig,
  type KafkaSaslConfig,
  type KafkaTlsConfig,
} from './client.ts';
export { valueSubject, type Codec } from './codec.ts';
export {
  createConsumerRunner,
  type ConsumerRunner,
  type ConsumerRunnerOptions,
  type ConsumerStats,
  type PositionStoreRunnerOptions,
  type RunnerBaseOptions,
} from './consumer-runner.ts';
export type { PositionStore, StoredChunk, StoredChunkResult } from './position-store.ts';
export type { CommitPoint, DeliveryMode } from './delivery.ts';
export { isRebalanceError, toKafkaError } from './kafka-errors.ts';
export type { KafkaLogger } from './logger.ts';
export { createProducer, type ProducerOptions, type RecordProducer } from './producer.ts';
export type {
  DecodedRecord,
  InputRecord,
  OutgoingMessage,
  Output,
  RecordHeaders,
  RecordPosition,
  UndecodableRecord,
} from './records.ts';
export {
  ensureTopics,
  loadTopicList,
  parseTopicList,
  resolveTopics,
  type EnsureTopicsResult,
  type ResolvedTopic,
  type TopicList,
  type TopicSpec,
} from './topics.ts';
export { createKafkaProbe, probeKafkaJsConfig, type KafkaProbe, type KafkaProbeOptions } from './probe.ts';
export { patchKafkaJsRequestQueue, type PatchResult } from './request-queue-patch.ts';
export { readRange, type RangeMessage, type ReadRangeOptions } from './topic-reader.ts';
export {
  ConfigResourceTypes,
  Kafka,
  logLevel,
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type KafkaConfig,
  type KafkaMessage,
} from './client-exports.ts';
