/**
 * Integration-test set-up against the local stack (`deploy/local/stack`): where its services
 * listen, names no other test run uses, and topic creation and removal.
 */
import { randomBytes } from 'node:crypto';

/** Addresses of the local stack: the environment's (as `deploy/local/stack env` prints them), else the stack's defaults. */
export interface LocalStack {
  readonly brokers: string;
  readonly registryUrl: string;
  readonly databaseUrl: string;
  readonly redisUrl: string;
}

export function localStack(env: NodeJS.ProcessEnv = process.env): LocalStack {
  return {
    brokers: env.KAFKA_BROKERS ?? '127.0.0.1:9092',
    registryUrl: env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7',
    databaseUrl: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  };
}

/** Kafka client retry settings for tests: failures surface in seconds, not minutes. */
export const FAST_KAFKA_RETRY = { retries: 5, initialRetryTimeMs: 100, maxRetryTimeMs: 2_000 } as const;

/** Part of every name this test process makes, so what it left behind can be found. */
export const RUN_ID = randomBytes(3).toString('hex');

/** A topic, group, subject or schema name no other test (or run) uses: `<prefix>.<run>.<time>.<random>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}.${RUN_ID}.${Date.now().toString(36)}.${randomBytes(4).toString('hex')}`;
}

/**
 * The admin calls the topic helpers make. `@ehrflow/kafka`'s `Admin` fits; test support names
 * no Kafka client itself (only libs/kafka imports one).
 */
export interface TopicAdmin {
  createTopics(options: {
    waitForLeaders: boolean;
    topics: { topic: string; numPartitions: number; replicationFactor: number }[];
  }): Promise<boolean>;
  deleteTopics(options: { topics: string[] }): Promise<void>;
}

/** Creates topics with one replica and waits for their leaders. */
export async function createTopics(
  admin: TopicAdmin,
  topics: readonly string[],
  partitions: number,
): Promise<void> {
  await admin.createTopics({
    waitForLeaders: true,
    topics: topics.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
  });
}

/** Deletes topics; a topic already gone is not an error (clean-up after a failed set-up). */
export async function deleteTopics(admin: TopicAdmin, topics: readonly string[]): Promise<void> {
  if (topics.length === 0) return;
  await admin.deleteTopics({ topics: [...topics] }).catch(() => undefined);
}
