/**
 * A loader in its own process, for the crash test: `node loader-worker.ts` with LOADER_DB_SCHEMA,
 * LOADER_GROUP_ID, LOADER_TOPIC_PREFIX, LOADER_RESOURCE_TYPES and LOADER_MAX_BATCH set. Prints
 * `started` once running; the test kills it with SIGKILL.
 */
import pg from 'pg';
import { startLoader } from '../loader.ts';
import { testKafka, testLogger, testRegistry } from './kafka.ts';
import { TEST_DATABASE_URL } from './pg.ts';

const env = (name: string): string => {
  const v = process.env[name];
  if (v === undefined) throw new Error(`${name} is required`);
  return v;
};

const pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 3 });
const registry = testRegistry();
const loader = await startLoader({
  kafka: testKafka('loader-worker'),
  registry,
  pool,
  logger: testLogger(),
  schema: env('LOADER_DB_SCHEMA'),
  groupId: env('LOADER_GROUP_ID'),
  topicPrefix: env('LOADER_TOPIC_PREFIX'),
  resourceTypes: env('LOADER_RESOURCE_TYPES').split(','),
  // Upserts only: this run has no deletions topic.
  deletions: false,
  maxBatch: Number(env('LOADER_MAX_BATCH')),
  sessionTimeoutMs: 6_000,
  heartbeatIntervalMs: 500,
  maxWaitTimeMs: 200,
});
process.stdout.write('started\n');
process.on('SIGTERM', () => {
  void loader.stop().finally(() => Promise.allSettled([pool.end(), registry.close()]));
});
loader.done.catch(() => process.exit(1));
