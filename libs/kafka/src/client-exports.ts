/**
 * The client names other projects may hold — an admin client for test topics, a raw message in a
 * decoder, a bare client for a tool — re-exported so that only this package imports the Kafka
 * client (an ESLint `no-restricted-imports` rule enforces it). Replacing the client then touches
 * this package alone: these names get an adapter here instead of a re-export.
 */
import kafkajs from 'kafkajs';
import { patchKafkaJsEncoder } from './encoder-patch.ts';
import { patchKafkaJsRequestQueue } from './request-queue-patch.ts';

// A bare client (`new Kafka(…)` in a tool) gets the patches `createKafka` applies: without the
// request-queue one, Node 24 prints a TimeoutNegativeWarning (as `stack up` did). Both are
// idempotent; `createKafka` also logs when one cannot apply, which needs its logger.
patchKafkaJsRequestQueue();
patchKafkaJsEncoder();

export { Kafka, logLevel } from 'kafkajs';
export type { Admin, Consumer, EachBatchPayload, KafkaConfig, KafkaMessage } from 'kafkajs';

/** Config resource types of `describeConfigs` (not among kafkajs' named ESM exports). */
export const ConfigResourceTypes = kafkajs.ConfigResourceTypes;
