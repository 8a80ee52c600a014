/**
 * Validator throughput, printed (not asserted):
 * `npm run bench:validator -- [records] [--core-only | --service-only]`.
 * 1) the in-process core (decrypt → parse → map → check → encrypt PHI fields), no Kafka;
 * 2) the whole service on the local stack in each delivery mode: raw envelopes of ~1.5 KB FHIR
 *    Patients on a fresh 3-partition topic, from first chunk to every offset committed.
 * Uses unique topics and subjects and deletes them afterwards. `--core-only` runs part 1 alone
 * (no stack needed), `--service-only` part 2 alone; either is handy under `node --cpu-prof`.
 */
import { canonicalText } from '@ehrflow/contracts';
import { createKafka, createProducer, type DeliveryMode } from '@ehrflow/kafka';
import { createLogger } from '@ehrflow/logging';
import { createKeyring } from '@ehrflow/phi';
import {
  createContractCache,
  createRecordValidator,
  loadValidatorConfig,
  startValidator,
} from '@ehrflow/validator';
import {
  contractJson,
  deletionContract,
  memorySchemaSource,
  patient,
  rawEnvelope,
} from '@ehrflow/validator/testing/fixtures.ts';
import {
  BROKERS,
  registerTestSubjects,
  testEnv,
  testRegistry,
  testTopics,
} from '@ehrflow/validator/testing/stack.ts';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(`usage: npm run bench:validator -- [records (20000)] [--core-only | --service-only]

Validator throughput, printed: the in-process core (decrypt, parse, map, check, encrypt PHI
fields; no Kafka), then the whole service on the local stack in each delivery mode (needs the
stack: bash deploy/local/stack up). --core-only runs the first part alone (no stack needed),
--service-only the second. Records may also come from VALIDATOR_BENCH_RECORDS.`);
  process.exit(0);
}
const coreOnly = args.includes('--core-only');
const serviceOnly = args.includes('--service-only');
const TOTAL = Number(args.find((a) => !a.startsWith('--')) ?? process.env.VALIDATOR_BENCH_RECORDS ?? '20000');
const key = Buffer.alloc(32, 9);
const ring = createKeyring([['bench', key]]);
const logger = createLogger({ name: 'validator-bench', level: 'warn' });

/** A synthetic Patient of about 1.5 KB of JSON. */
function benchPatient(n: number): Record<string, unknown> {
  return patient(n, {
    text: {
      status: 'generated',
      div: `<div xmlns="http://www.w3.org/1999/xhtml">Synthetic patient ${n} ${'x'.repeat(420)}</div>`,
    },
    telecom: [
      { system: 'phone', value: '555-0100', use: 'home' },
      { system: 'phone', value: '555-0101', use: 'work' },
      { system: 'email', value: `synthetic${n}@example.org` },
    ],
    maritalStatus: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'M' }],
    },
    communication: [
      { language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'en-US' }] }, preferred: true },
    ],
    managingOrganization: { reference: 'Organization/syn-org-1' },
  });
}

async function benchCore(): Promise<void> {
  const contracts = createContractCache({
    source: memorySchemaSource({ 'ehr.valid.Patient-value': contractJson('Patient') }),
    validTopicPrefix: 'ehr.valid.',
    resourceTypes: ['Patient'],
    fillRateWindow: 500,
  });
  const validator = createRecordValidator({
    keyring: ring,
    contracts,
    deletions: deletionContract(),
    maxPayloadBytes: 4 * 1024 * 1024,
  });
  const envelopes = Array.from({ length: TOTAL }, (_, n) => rawEnvelope(ring, benchPatient(n)));
  const size = JSON.stringify(benchPatient(0)).length;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  let valid = 0;
  for (const [i, envelope] of envelopes.entries()) {
    const out = await validator.validate({
      envelope,
      position: { topic: 'ehr.raw', partition: 0, offset: String(i) },
      key: null,
      replayCount: 0,
    });
    if (out.kind === 'valid') valid++;
  }
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  // CPU time per record is steadier than wall time on a shared machine.
  console.log(
    `core: ${TOTAL} records of ${size} B JSON, ${valid} valid, ${Math.round((TOTAL / ms) * 1000)} records/s; ` +
      `${Math.round((cpu.user + cpu.system) / TOTAL)} µs CPU/record`,
  );
}

async function benchService(mode: DeliveryMode): Promise<void> {
  const topics = testTopics(['Patient']);
  const env = testEnv(topics, {
    PHI_KEYRING: `bench:${key.toString('base64')}`,
    LOG_LEVEL: 'warn',
    VALIDATOR_RESOURCE_TYPES: 'Patient',
    VALIDATOR_DELIVERY: mode,
    VALIDATOR_TRANSACTIONAL_ID: `${topics.id}-tx`,
    ALERT_LOG_FALLBACK: 'false',
    // To compare chunk sizes: VALIDATOR_MAX_BATCH=1000 npm run bench:validator
    ...(process.env.VALIDATOR_MAX_BATCH === undefined
      ? {}
      : { VALIDATOR_MAX_BATCH: process.env.VALIDATOR_MAX_BATCH }),
  });
  const config = loadValidatorConfig(env);
  const kafka = createKafka({
    brokers: BROKERS,
    clientId: `${topics.id}-bench`,
    logger,
    mode: 'development',
  });
  const admin = kafka.kafkajs.admin();
  await admin.connect();
  const { registry, codec } = testRegistry();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: topics.all.map((topic) => ({ topic, numPartitions: 3, replicationFactor: 1 })),
    });
    await registerTestSubjects(registry, topics, { Patient: contractJson('Patient') });
    const producer = createProducer({ kafka, codec, logger });
    await producer.connect();
    const envelopes = Array.from({ length: TOTAL }, (_, n) => rawEnvelope(ring, benchPatient(n)));
    for (let i = 0; i < envelopes.length; i += 1000) {
      await producer.send(
        topics.raw,
        envelopes.slice(i, i + 1000).map((e) => ({ key: e.recordId, value: e })),
      );
    }
    await producer.disconnect();
    const started = performance.now();
    const validator = await startValidator({ config, logger, env });
    validator.done.catch(() => undefined);
    // Start-up and the group join are a fixed cost that a short run spreads over few records, so
    // the rate from the first fetch is printed too. Process CPU near 100% of wall means the event
    // loop is the bottleneck; well below, the run waits on Kafka (produce, commit) per chunk.
    let firstFetch: number | undefined;
    const cpuBefore = process.cpuUsage();
    const cpuStarted = performance.now();
    while (validator.runner.stats().committed < TOTAL) {
      if (firstFetch === undefined && validator.runner.stats().consumed > 0) firstFetch = performance.now();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const ended = performance.now();
    const cpu = process.cpuUsage(cpuBefore);
    const ms = ended - started;
    const stats = validator.runner.stats();
    await validator.stop();
    const processingMs = ended - (firstFetch ?? started);
    console.log(
      `service ${mode}: ${TOTAL} records in ${Math.round(ms)} ms (incl. start-up and group join) = ${Math.round((TOTAL / ms) * 1000)} records/s; ` +
        `from first fetch ${Math.round(processingMs)} ms = ${Math.round((TOTAL / processingMs) * 1000)} records/s; ` +
        `max batch ${config.VALIDATOR_MAX_BATCH}, batches ${stats.batches}, produced ${stats.produced}; ` +
        `process CPU ${Math.round((cpu.user + cpu.system) / 10 / (ended - cpuStarted))}% of wall`,
    );
  } finally {
    await admin.deleteTopics({ topics: [...topics.all] }).catch(() => undefined);
    await admin.disconnect();
    for (const subject of topics.subjects) await registry.deleteSubject(subject).catch(() => undefined);
    await registry.close();
  }
  void canonicalText;
}

if (!serviceOnly) await benchCore();
if (!coreOnly) for (const mode of ['at-least-once', 'transactional'] as const) await benchService(mode);
