/**
 * The client names other projects may hold — an admin client for test topics, a raw message in a
 * decoder, a bare client for a tool — re-exported so that only this package imports the Kafka
 * client (an ESLint `no-restricted-imports` rule enforces it). Replacing the client then touches
 * this package alone: these names get an adapter here instead of a re-export.
 */
import kafkajs from 'kafkajs';

export { Kafka, logLevel } from 'kafkajs';
export type { Admin, Consumer, EachBatchPayload, KafkaConfig, KafkaMessage } from 'kafkajs';

/** Config resource types of `describeConfigs` (not among kafkajs' named ESM exports). */
export const ConfigResourceTypes = kafkajs.ConfigResourceTypes;
