/**
 * HL7 v2 through the whole pipeline on the real stack: hostile senders (early resends, a drift
 * switch) → mllp-receiver → validator → redactor → loader, all as child processes on topics,
 * groups, schemas and Redis keys of this run. Every ACKed message is accounted for downstream:
 * each clean message's resources are loaded exactly once (the loader's ledger holds exactly the
 * expected records, resends included), and every drifted message is quarantined with its position.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Admin, createKafka } from '@ehrflow/kafka';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCodec, createRegistry, type QuarantineRecord, type SchemaRegistry } from '@ehrflow/contracts';
import { loadHl7Mapping, parseHl7 } from '@ehrflow/hl7';
import { runFeed } from '@ehrflow/hl7-sim';
import { createLogger } from '@ehrflow/logging';
import { parseKeyring } from '@ehrflow/phi';
import {
  type Child,
  createScratch,
  leakScanPassed,
  loadOrCreateSecrets,
  pipelineTopics,
  provisionPipeline,
  runLeakScan,
  type Scratch,
  type ServiceHandle,
  type ServiceName,
  startChild,
  startPipelineServices,
  stopPipelineServices,
} from '@ehrflow/pipeline-tools';
import { freePort, REPO_ROOT, stackEnv, waitFor } from '@ehrflow/testing';

const runId = randomUUID().slice(0, 8);
const prefix = `e2e.hl7.${runId}.`;
const topics = pipelineTopics(prefix);
const groups = { validator: `${prefix}validator`, redactor: `${prefix}redactor`, loader: `${prefix}loader` };
const schemas = { extractor: `e2e_hl7_${runId}_x`, loader: `e2e_hl7_${runId}_l` };
const sourceId = `e2e-hl7-${runId}`;
const SENDERS = 4;
const PER_SENDER = 15;
const DRIFT_FROM = 8;

describe('HL7 v2 through the whole pipeline', () => {
  let env: NodeJS.ProcessEnv;
  let workDir: string;
  let admin: Admin | undefined;
  let registry: SchemaRegistry | undefined;
  let scratch: Scratch | undefined;
  let pool: pg.Pool | undefined;
  let services = new Map<ServiceName, ServiceHandle>();
  let receiver: Child | undefined;
  let mllpPort = 0;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), `ehrflow-e2e-hl7-${runId}-`));
    const secrets = await loadOrCreateSecrets(join(workDir, 'secrets.env'));
    env = { ...stackEnv(), ...secrets, EHRFLOW_MODE: 'development', LOG_LEVEL: 'info' };
    const logger = createLogger({ name: 'e2e-hl7', level: 'silent' });
    const kafka = createKafka({
      brokers: (env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
      clientId: `e2e-hl7-${runId}`,
      logger,
      mode: 'development',
    });
    admin = kafka.kafkajs.admin();
    await admin.connect();
    registry = createRegistry({ url: env.SCHEMA_REGISTRY_URL ?? '' });
    scratch = createScratch(admin, registry);
    pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });
    await provisionPipeline(scratch, topics, env);
    const logDir = join(workDir, 'logs');
    services = await startPipelineServices(
      {
        env,
        topics,
        sourcesFile: join(workDir, 'no-sources.json'),
        logDir,
        extractorDbSchema: schemas.extractor,
        loaderDbSchema: schemas.loader,
        groups,
      },
      ['loader', 'redactor', 'validator'],
    );
    mllpPort = await freePort();
    const httpPort = await freePort();
    receiver = await startChild({
      name: 'mllp-receiver',
      args: [join(REPO_ROOT, 'services', 'mllp-receiver', 'src', 'main.ts')],
      env: {
        ...env,
        HTTP_PORT: String(httpPort),
        MLLP_SOURCE_ID: sourceId,
        MLLP_PORT: String(mllpPort),
        MLLP_HOST: '127.0.0.1',
        MLLP_RAW_TOPIC: topics.raw,
        MLLP_QUARANTINE_TOPIC: topics.quarantine,
        MLLP_DEDUPE_WINDOW_MS: '600000',
        MLLP_TRANSACTIONAL_ID: `${prefix}mllp-tx`,
      },
      logFile: join(logDir, 'mllp-receiver.log'),
      cwd: REPO_ROOT,
    });
    await waitFor(
      async () => {
        try {
          const res = await fetch(`http://127.0.0.1:${httpPort}/readyz`, {
            signal: AbortSignal.timeout(2_000),
          });
          await res.body?.cancel();
          return res.status === 200;
        } catch {
          return false;
        }
      },
      { timeoutMs: 60_000, intervalMs: 300, what: 'mllp-receiver to be ready' },
    );
  }, 300_000);

  afterAll(async () => {
    await receiver?.stop(10_000);
    await stopPipelineServices(services);
    await scratch?.cleanUp();
    await admin?.deleteGroups([groups.validator, groups.redactor, groups.loader]).catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
    await registry?.close().catch(() => undefined);
    if (pool !== undefined) {
      for (const schema of Object.values(schemas))
        await pool.query(`drop schema if exists "${schema}" cascade`).catch(() => undefined);
      await pool.end();
    }
    await rm(workDir, { recursive: true, force: true });
  });

  it('every ACKed message is loaded once or quarantined with its position; resends add nothing', async () => {
    const texts = new Map<string, string>();
    const results = await Promise.all(
      Array.from({ length: SENDERS }, (_, s) =>
        runFeed({
          port: mllpPort,
          sendingApplication: `E2E${s}`,
          controlIdPrefix: `E${s}`,
          count: PER_SENDER,
          seed: 500 + s,
          deadlineMs: 60_000,
          resendEvery: 4,
          ...(s === 0 ? { drift: 'birthdate-moved' as const, driftFrom: DRIFT_FROM } : {}),
          onMessage: (controlId, text) => texts.set(`${s}:${controlId}`, text),
        }),
      ),
    );
    expect(results.reduce((n, r) => n + r.acked.size, 0)).toBe(SENDERS * PER_SENDER);

    // What the mapping makes of each message (the same file the validator reads).
    const mapping = loadHl7Mapping(join(REPO_ROOT, 'schemas', 'hl7', 'v2-mapping.json'));
    let expectedRecords = 0;
    let expectedQuarantined = 0;
    for (const text of texts.values()) {
      const mapped = mapping.map(parseHl7(text));
      if (mapped.resources.length === 0) expectedQuarantined += 1;
      expectedRecords += mapped.resources.length;
    }
    expect(expectedQuarantined).toBe(PER_SENDER - DRIFT_FROM);
    // Every clean message yields at least a Patient and an Encounter or Observation.
    expect(expectedRecords).toBeGreaterThan(2 * (SENDERS * PER_SENDER - expectedQuarantined) - 1);

    const ledger = async (): Promise<number> => {
      try {
        const { rows } = await (pool as pg.Pool).query<{ n: string }>(
          `select count(*) as n from "${schemas.loader}".loader_ledger where job_id = $1`,
          [`mllp:${sourceId}`],
        );
        return Number(rows[0]?.n ?? 0);
      } catch {
        return 0;
      }
    };
    await waitFor(async () => (await ledger()) >= expectedRecords, {
      timeoutMs: 180_000,
      intervalMs: 500,
      what: `${expectedRecords} HL7-derived records to be loaded`,
    });
    // Nothing more arrives: resends and duplicates on the raw topic carry the same record ids.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await ledger()).toBe(expectedRecords);

    const codec = createCodec(registry as SchemaRegistry);
    const consumerKafka = createKafka({
      brokers: (env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
      clientId: `e2e-hl7-${runId}-q`,
      logger: createLogger({ name: 'e2e-hl7-q', level: 'silent' }),
      mode: 'development',
    });
    const consumer = consumerKafka.kafkajs.consumer({ groupId: `${prefix}reader`, maxWaitTimeInMs: 200 });
    const quarantined: QuarantineRecord[] = [];
    await consumer.connect();
    await consumer.subscribe({ topics: [topics.quarantine], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (message.value) quarantined.push((await codec.decode<QuarantineRecord>(message.value)).value);
      },
    });
    await waitFor(
      () =>
        new Set(quarantined.filter((q) => q.sourceId === sourceId).map((q) => q.recordId)).size >=
        expectedQuarantined,
      { timeoutMs: 60_000, intervalMs: 300, what: 'the drifted messages in quarantine' },
    );
    await consumer.disconnect();
    const ours = quarantined.filter((q) => q.sourceId === sourceId);
    expect(new Set(ours.map((q) => `${q.reason}:${q.fieldPath}`))).toEqual(
      new Set(['missing_required:PID-7']),
    );
    await admin?.deleteGroups([`${prefix}reader`]).catch(() => undefined);

    // Leak scan: the synthetic family names sent (PID-5.1) appear nowhere in clear — not in a
    // topic of this run, a log, a dedupe key or a loaded table — but are found inside the
    // encrypted payloads with the pipeline key (the positive control).
    const names = new Set(
      [...texts.values()].map((t) => parseHl7(t).value('PID', 5)).filter((n) => n.length >= 6),
    );
    const report = await runLeakScan({
      canaries: [...names],
      kafka: {
        brokers: env.KAFKA_BROKERS ?? '127.0.0.1:9092',
        registryUrl: env.SCHEMA_REGISTRY_URL ?? '',
        topics: [topics.raw, topics.quarantine, topics.drift, ...topics.valid, ...topics.clean],
        timeoutMs: 60_000,
      },
      logPaths: [join(workDir, 'logs')],
      redis: { url: env.REDIS_URL ?? 'redis://127.0.0.1:6379', pattern: 'ehrflow:mllp:*' },
      postgres: { url: env.DATABASE_URL ?? '', schemas: [schemas.loader] },
      keyring: parseKeyring(env.PHI_KEYRING),
    });
    expect(names.size).toBeGreaterThan(0);
    expect(report.hits).toEqual([]);
    expect(report.protectedMatches).toBeGreaterThan(0);
    expect(leakScanPassed(report)).toBe(true);
  });
});
