/** Integration-test support (not exported): unique topics and subjects on the local stack. */
import { randomBytes } from 'node:crypto';
import type { Codec, SchemaRegistry } from '@ehrflow/contracts';
import { localRegistry, registerJson, type LocalRegistry } from '@ehrflow/contracts/testing';
import { readRange, type KafkaClient } from '@ehrflow/kafka';
import type { Env } from '@ehrflow/config';
import { localStack } from '@ehrflow/testing';
import { pipelineSchemaJson } from './fixtures.ts';

export const REGISTRY_URL = localStack().registryUrl;
export const BROKERS = localStack().brokers;

export interface TestTopics {
  readonly id: string;
  readonly raw: string;
  readonly validPrefix: string;
  /** `<validPrefix>deletions`, the validator's default deletions topic for this prefix. */
  readonly deletions: string;
  readonly quarantine: string;
  readonly drift: string;
  readonly all: readonly string[];
  readonly subjects: string[];
}

export function testTopics(resourceTypes: readonly string[]): TestTopics {
  const id = `vt${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const raw = `${id}.raw`;
  const validPrefix = `${id}.valid.`;
  const quarantine = `${id}.quarantine`;
  const drift = `${id}.drift`;
  const deletions = `${validPrefix}deletions`;
  return {
    id,
    raw,
    validPrefix,
    deletions,
    quarantine,
    drift,
    all: [raw, quarantine, drift, deletions, ...resourceTypes.map((t) => `${validPrefix}${t}`)],
    subjects: [],
  };
}

/** Registers the pipeline schemas for the test topics (deletions included), and a FHIR contract per valid topic. */
export async function registerTestSubjects(
  registry: SchemaRegistry,
  topics: TestTopics,
  contracts: Readonly<Record<string, Record<string, unknown>>>,
): Promise<void> {
  const pairs: [string, Record<string, unknown>][] = [
    [`${topics.raw}-value`, pipelineSchemaJson('raw-envelope.avsc')],
    [`${topics.quarantine}-value`, pipelineSchemaJson('quarantine-record.avsc')],
    [`${topics.drift}-value`, pipelineSchemaJson('drift-event.avsc')],
    [`${topics.deletions}-value`, pipelineSchemaJson('deletion.avsc')],
    ...Object.entries(contracts).map(([type, json]): [string, Record<string, unknown>] => [
      `${topics.validPrefix}${type}-value`,
      json,
    ]),
  ];
  for (const [subject, json] of pairs) {
    await registerJson(registry, subject, json);
    topics.subjects.push(subject);
  }
}

export function testEnv(topics: TestTopics, extra: Env = {}): Env {
  return {
    EHRFLOW_MODE: 'development',
    LOG_LEVEL: 'info',
    KAFKA_BROKERS: BROKERS,
    SCHEMA_REGISTRY_URL: REGISTRY_URL,
    PSEUDONYM_KEY: randomBytes(32).toString('base64'),
    VALIDATOR_GROUP_ID: `${topics.id}.validator`,
    VALIDATOR_RAW_TOPIC: topics.raw,
    VALIDATOR_VALID_TOPIC_PREFIX: topics.validPrefix,
    VALIDATOR_QUARANTINE_TOPIC: topics.quarantine,
    VALIDATOR_DRIFT_TOPIC: topics.drift,
    // `VALIDATOR_WORKERS=2 npx vitest run --project integration services/validator` runs the
    // integration tests with worker threads on.
    ...(process.env.VALIDATOR_WORKERS === undefined
      ? {}
      : { VALIDATOR_WORKERS: process.env.VALIDATOR_WORKERS }),
    ...extra,
  };
}

export function testRegistry(): LocalRegistry {
  return localRegistry({ refreshMs: 200 });
}

/** Every value of a topic up to its current end, decoded. */
export async function readValues<T>(kafka: KafkaClient, codec: Codec, topic: string): Promise<T[]> {
  const out: T[] = [];
  await readRange(kafka, topic, async (batch) => {
    for (const m of batch) if (m.message.value) out.push((await codec.decode<T>(m.message.value)).value);
  });
  return out;
}
