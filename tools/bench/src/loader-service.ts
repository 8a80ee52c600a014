/**
 * Throughput of the loader service path: `npm run bench:loader-service -- [--rows N]
 * [--mode staging|multirow] [--concurrency C]`. Produces N clean Observation records (~1.8 KB) to
 * a scratch topic of 3 partitions, then starts the loader (Kafka fetch, Avro decode, batch
 * transactions) and times it from start until every partition's stored position reaches the
 * topic's end. Uses a unique topic, subject, group and database schema, removed afterwards.
 */
import { parseArgs } from 'node:util';
import { cpus, loadavg } from 'node:os';
import pg from 'pg';
import { createTopics, deleteTopics } from '@ehrflow/testing';
import { WRITE_MODES, ident, startLoader, type WriteMode } from '@ehrflow/loader';
import { cleanRecord, type SchemaJson } from './clean-records.ts';
import { cleanSchemaFromContract } from '@ehrflow/loader/testing/clean-fixtures.ts';
import {
  produceValues,
  testCodec,
  testKafka,
  testLogger,
  testRegistry,
} from '@ehrflow/loader/testing/kafka.ts';
import { registerJson } from '@ehrflow/contracts/testing';
import { TEST_DATABASE_URL, uniqueSuffix } from '@ehrflow/loader/testing/pg.ts';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '30000' },
    mode: { type: 'string', default: 'staging' },
    concurrency: { type: 'string', default: '2' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help || !WRITE_MODES.includes(args.mode as WriteMode)) {
  console.log(
    'usage: npm run bench:loader-service -- [--rows N (30000)] [--mode staging|multirow] [--concurrency C (2)]',
  );
  process.exit(args.help ? 0 : 2);
}
const ROWS = Number(args.rows);

const suffix = uniqueSuffix();
const prefix = `bench.${suffix}.clean.`;
const topic = `${prefix}Observation`;
const subject = `${topic}-value`;
const schemaName = `loader_bench_${suffix}`;
const groupId = `loader-bench-${suffix}`;

const schemaJson = cleanSchemaFromContract('Observation') as SchemaJson;
const record = (i: number) => cleanRecord(schemaJson, i);

const kafka = testKafka(`loader-bench-${suffix}`);
const registry = testRegistry();
const admin = kafka.kafkajs.admin();
const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL ?? TEST_DATABASE_URL,
  max: Number(args.concurrency) + 2,
});
await admin.connect();
try {
  await createTopics(admin, [topic], 3);
  await registerJson(registry, subject, schemaJson);
  const records = Array.from({ length: ROWS }, (_, i) => record(i));
  await produceValues(kafka, testCodec(registry), topic, records, { key: (_v, i) => `patient-${i % 500}` });
  const end = (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);

  const started = Date.now();
  const loader = await startLoader({
    kafka,
    registry,
    pool,
    logger: testLogger(),
    schema: schemaName,
    groupId,
    resourceTypes: ['Observation'],
    // Upserts only: this run has no deletions topic.
    deletions: false,
    topicPrefix: prefix,
    writeMode: args.mode as WriteMode,
    concurrency: Number(args.concurrency),
  });
  for (;;) {
    const res = await pool.query<{ n: string | null }>(
      `SELECT sum(next_offset) AS n FROM ${ident(schemaName)}.loader_offsets WHERE group_id = $1`,
      [groupId],
    );
    if (Number(res.rows[0]?.n ?? 0) >= end) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const seconds = (Date.now() - started) / 1000;
  const c = loader.counters();
  await loader.stop();
  console.log(
    `loader service: ${ROWS} Observation records (~${Buffer.byteLength(JSON.stringify(record(1)))} B JSON), ` +
      `mode ${args.mode}, concurrency ${args.concurrency}: ${Math.round(ROWS / seconds)} records/s ` +
      `(${seconds.toFixed(1)} s incl. start-up, ${c.batches} transactions, ${c.upserted} rows); ` +
      `load average ${loadavg()[0]?.toFixed(2)} on ${cpus().length} CPUs`,
  );
} finally {
  await deleteTopics(admin, [topic]);
  await admin.deleteGroups([groupId]).catch(() => undefined);
  await admin.disconnect();
  await registry.deleteSubject(subject).catch(() => undefined);
  await registry.close();
  await pool.query(`DROP SCHEMA IF EXISTS ${ident(schemaName)} CASCADE`);
  await pool.end();
}
