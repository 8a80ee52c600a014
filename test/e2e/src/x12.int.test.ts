/**
 * X12 billing files through the whole pipeline on the real stack: a folder of generated files →
 * billing-receiver → validator → redactor → loader → PostgreSQL, all child processes on topics,
 * groups and schemas of this run. Good files (837P with dependents in a patient loop 2000C, 837I,
 * 835, odd delimiters), a sender's drift switch, each envelope fault (cut file, wrong SE/GE/IEA
 * counts, SE02 ≠ ST02) and a duplicate interchange. A large file is interrupted by SIGKILL, and the
 * crash window between a Kafka commit and its checkpoint is forced open (the file's checkpoint and
 * set identities removed from Redis, as if none had been written): the restart writes the sets
 * again under the same record ids, and nothing is loaded twice. Per transaction set:
 * in = raw = valid + quarantined = clean = loaded; each faulty file refused whole with its reason,
 * an encrypted copy and a TA1/999; the planted canaries (NM1/N3/REF values) nowhere in clear.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin } from '@ehrflow/kafka';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCodec,
  createRegistry,
  type QuarantineRecord,
  type RawEnvelope,
  type SchemaRegistry,
} from '@ehrflow/contracts';
import { createKafka } from '@ehrflow/kafka';
import { billingTotals, type ReconcileResult } from '@ehrflow/loader';
import { createLogger } from '@ehrflow/logging';
import { parseKeyring, parsePseudonymKey } from '@ehrflow/phi';
import {
  type Child,
  createScratch,
  leakScanPassed,
  loadOrCreateSecrets,
  provisionPipeline,
  reconcileCli,
  runLeakScan,
  type Scratch,
  type ServiceHandle,
  type ServiceName,
  startChild,
  startPipelineServices,
} from '@ehrflow/pipeline-tools';
import { freePort, REPO_ROOT, stackEnv, waitFor } from '@ehrflow/testing';
import {
  ODD_DELIMITERS,
  syntheticInterchange,
  type InterchangeOptions,
  type SimFile,
} from '@ehrflow/x12-sim';
import { billingProgressKeys } from '@ehrflow/billing-receiver';
import { cleanUpRun, runNames } from './run-fixture.ts';

const { runId, prefix, topics, groups, schemas } = runNames('x12');
const sourceId = `e2e-x12-${runId}`;
const BATCH = 10;
const BIG_SETS = 150;
const FAULTS = ['cut', 'se-count', 'ge-count', 'iea-count', 'se-control'] as const;
/** Canary values planted in one claim of a good file (synthetic, unique to this test). */
const PLANT = {
  family: 'Zorvandelik',
  given: 'Quessamyra',
  memberId: 'CNRY55190427',
  street: '418 Thistlewick Hollow',
  ssn: '912553871',
};

const jobIdOf = (bytes: Buffer) =>
  `x12:${sourceId}:${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}`;

describe('X12 billing files through the whole pipeline', () => {
  let env: NodeJS.ProcessEnv;
  let workDir: string;
  let inbox: string;
  let outbox: string;
  let admin: Admin | undefined;
  let registry: SchemaRegistry | undefined;
  let scratch: Scratch | undefined;
  let pool: pg.Pool | undefined;
  let redis: Redis | undefined;
  let services = new Map<ServiceName, ServiceHandle>();
  let receiver: Child | undefined;
  let receiverStarts = 0;

  async function startReceiver(): Promise<Child> {
    const httpPort = await freePort();
    receiverStarts += 1;
    const child = await startChild({
      name: 'billing-receiver',
      args: [join(REPO_ROOT, 'services', 'billing-receiver', 'src', 'main.ts')],
      env: {
        ...env,
        HTTP_PORT: String(httpPort),
        X12_SOURCE_ID: sourceId,
        X12_INBOX_DIR: inbox,
        X12_OUTBOX_DIR: outbox,
        X12_POLL_MS: '200',
        X12_REQUIRE_MARKER: 'true',
        X12_BATCH_SETS: String(BATCH),
        X12_RAW_TOPIC: topics.raw,
        X12_QUARANTINE_TOPIC: topics.quarantine,
        X12_TRANSACTIONAL_ID: `${prefix}x12-tx`,
        X12_DEDUPE_WINDOW_MS: '600000',
      },
      logFile: join(workDir, 'logs', `billing-receiver-${receiverStarts}.log`),
      cwd: REPO_ROOT,
    });
    await waitFor(
      async () => {
        if (!child.running()) throw new Error('billing-receiver exited');
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
      { timeoutMs: 60_000, intervalMs: 300, what: 'billing-receiver to be ready' },
    );
    return child;
  }

  /** Writes a generated file, then its `.done` marker. */
  async function drop(name: string, options: InterchangeOptions): Promise<SimFile> {
    const file = syntheticInterchange(options);
    await writeFile(join(inbox, name), file.bytes);
    await writeFile(join(inbox, `${name}.done`), '');
    return file;
  }
  const ls = (dir: string) => readdir(dir).catch(() => [] as string[]);
  const doneFiles = async () => (await ls(join(inbox, 'done'))).filter((n) => !n.endsWith('.done'));

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), `ehrflow-e2e-x12-${runId}-`));
    inbox = join(workDir, 'inbox');
    outbox = join(workDir, 'outbox');
    await mkdir(inbox, { recursive: true });
    const secrets = await loadOrCreateSecrets(join(workDir, 'secrets.env'));
    env = { ...stackEnv(), ...secrets, EHRFLOW_MODE: 'development', LOG_LEVEL: 'info' };
    const kafka = createKafka({
      brokers: (env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
      clientId: `e2e-x12-${runId}`,
      logger: createLogger({ name: 'e2e-x12', level: 'silent' }),
      mode: 'development',
    });
    admin = kafka.kafkajs.admin();
    await admin.connect();
    registry = createRegistry({ url: env.SCHEMA_REGISTRY_URL ?? '' });
    scratch = createScratch(admin, registry);
    pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });
    redis = new Redis(env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true });
    await redis.connect();
    await provisionPipeline(scratch, topics, env);
    services = await startPipelineServices(
      {
        env,
        topics,
        sourcesFile: join(workDir, 'no-sources.json'),
        logDir: join(workDir, 'logs'),
        extractorDbSchema: schemas.extractor,
        loaderDbSchema: schemas.loader,
        groups,
      },
      ['loader', 'redactor', 'validator'],
    );
    receiver = await startReceiver();
  }, 300_000);

  afterAll(async () => {
    await receiver?.stop(10_000);
    await cleanUpRun({
      services,
      scratch,
      admin,
      groups: { ...groups, reader: `${prefix}reader` },
      registry,
      pool,
      schemas,
      redis,
      // The receiver's progress keys (acknowledgment counter, checkpoints) of this run's source.
      redisKeys: [`ehrflow:*${sourceId}*`],
      workDir,
    });
  });

  it('every transaction set reconciles; faulty files are refused whole with a reason and an acknowledgment; a crash mid-file loads nothing twice', async () => {
    const codec = createCodec(registry as SchemaRegistry);
    const kafka = createKafka({
      brokers: (env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
      clientId: `e2e-x12-${runId}-r`,
      logger: createLogger({ name: 'e2e-x12-r', level: 'silent' }),
      mode: 'development',
    });
    const raw: RawEnvelope[] = [];
    const quarantined: QuarantineRecord[] = [];
    const consumer = kafka.kafkajs.consumer({ groupId: `${prefix}reader`, maxWaitTimeInMs: 200 });
    await consumer.connect();
    await consumer.subscribe({ topics: [topics.raw, topics.quarantine], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        if (message.value === null) return;
        const { value } = await codec.decode<RawEnvelope & QuarantineRecord>(message.value);
        if (value.sourceId !== sourceId) return;
        if (topic === topics.raw) raw.push(value);
        else quarantined.push(value);
      },
    });

    // 1. The large file, killed mid-file with the checkpoint window forced open.
    const big = await drop('big.x12', {
      seed: 1,
      controlNumber: 81001,
      groups: [{ kind: '837P', sets: BIG_SETS, claimsPerSet: 1, dependentShare: 0.3 }],
    });
    const bigJob = jobIdOf(big.bytes);
    const ofBig = () => raw.filter((r) => r.jobId === bigJob);
    await waitFor(() => ofBig().length >= 3 * BATCH, {
      timeoutMs: 60_000,
      intervalMs: 100,
      what: 'the first batches of the large file',
    });
    process.kill((receiver as Child).pid, 'SIGKILL');
    await (receiver as Child).exited;
    const beforeCrash = new Set(ofBig().map((r) => r.recordId)).size;
    expect(beforeCrash).toBeLessThan(BIG_SETS);
    // As if the process had died after every Kafka commit and before each checkpoint.
    const keys = billingProgressKeys(
      { sourceId, pseudonymKey: parsePseudonymKey(env.PSEUDONYM_KEY) },
      big.bytes,
    );
    expect(await (redis as Redis).exists(keys.file)).toBe(1);
    await (redis as Redis).del(keys.file, ...keys.sets);
    receiver = await startReceiver();

    // 2. The folder: good files, odd delimiters, a drift switch, every envelope fault.
    const good: InterchangeOptions['groups'] = [
      { kind: '837P', sets: 4, claimsPerSet: 2, dependentShare: 0.4 },
      { kind: '837I', sets: 3, dependentShare: 0.4 },
      { kind: '835', sets: 3, claimsPerSet: 2 },
    ];
    const accepted: SimFile[] = [big];
    accepted.push(
      await drop('good-a.x12', {
        seed: 10,
        controlNumber: 81002,
        groups: good,
        plant: { set: 0, ...PLANT },
      }),
    );
    accepted.push(
      await drop('good-odd.edi', {
        seed: 11,
        controlNumber: 81003,
        groups: good,
        delimiters: ODD_DELIMITERS,
      }),
    );
    const driftFrom = 3;
    const drift = await drop('drift.x12', {
      seed: 12,
      controlNumber: 81004,
      groups: [{ kind: '837P', sets: 6, claimsPerSet: 2 }],
      drift: { kind: 'required-empty', from: driftFrom },
    });
    accepted.push(drift);
    const refused: SimFile[] = [];
    for (const [i, fault] of FAULTS.entries())
      refused.push(
        await drop(`bad-${fault}.x12`, { seed: 20 + i, controlNumber: 82001 + i, fault, groups: good }),
      );
    await waitFor(async () => (await doneFiles()).length >= accepted.length, {
      timeoutMs: 120_000,
      intervalMs: 300,
      what: 'the accepted files in done/',
    });
    // The duplicate interchange: good-a's sender and ISA13 again, other content.
    const dup = await drop('dup-a.x12', { seed: 99, controlNumber: 81002, groups: good });
    await waitFor(async () => (await doneFiles()).includes('dup-a.x12'), {
      timeoutMs: 60_000,
      intervalMs: 300,
      what: 'the duplicate interchange to be answered',
    });

    // Expected: every set of the accepted files in; the drift file's sets from the switch quarantined.
    const setsIn = accepted.reduce((n, f) => n + f.sets.length, 0);
    const quarantinedSets = drift.sets.length - driftFrom;
    const claimsOf = (f: SimFile, from = 0, to = f.sets.length) =>
      f.sets.slice(from, to).reduce((n, s) => n + s.claims.length, 0);
    const loadedRecords =
      accepted.filter((f) => f !== drift).reduce((n, f) => n + claimsOf(f), 0) +
      claimsOf(drift, 0, driftFrom);
    const acceptedJobs = accepted.map((f) => jobIdOf(f.bytes));
    const refusedJobs = refused.map((f) => jobIdOf(f.bytes));

    const ledger = async (): Promise<number> => {
      try {
        const { rows } = await (pool as pg.Pool).query<{ n: string }>(
          `select count(*) as n from "${schemas.loader}".loader_ledger where job_id = any($1)`,
          [acceptedJobs],
        );
        return Number(rows[0]?.n ?? 0);
      } catch {
        return 0;
      }
    };
    await waitFor(async () => (await ledger()) >= loadedRecords, {
      timeoutMs: 150_000,
      intervalMs: 500,
      what: `${loadedRecords} claims and payments to be loaded`,
    });

    // The crash window was open: sets of the large file are on the raw topic twice, same ids.
    const bigIds = new Set(ofBig().map((r) => r.recordId));
    expect(bigIds.size).toBe(BIG_SETS);
    expect(ofBig().length - BIG_SETS).toBeGreaterThanOrEqual(beforeCrash);

    const parsed = JSON.parse(
      await reconcileCli({
        jobIds: [...acceptedJobs, ...refusedJobs],
        env,
        dbSchema: schemas.loader,
        topicPrefix: prefix,
      }),
    ) as { jobs: ReconcileResult[] };
    const totals = billingTotals(parsed.jobs);
    expect(totals).toMatchObject({
      files: accepted.length + refused.length,
      refusedFiles: refused.length,
      raw: setsIn,
      valid: setsIn - quarantinedSets,
      quarantined: quarantinedSets,
      incomplete: 0,
      clean: setsIn - quarantinedSets,
      loaded: setsIn - quarantinedSets,
      loadedRecords,
      reconciled: true,
    });
    expect(await ledger()).toBe(loadedRecords);

    // Refused whole: a quarantine record with the reason, an encrypted copy, TA1 and/or 999.
    const fileRefusals = quarantined.filter((q) => q.resourceType === 'X12_INTERCHANGE');
    expect(new Set(fileRefusals.map((q) => q.jobId))).toEqual(new Set(refusedJobs));
    expect(new Set(fileRefusals.map((q) => q.detail?.split(' ')[0]))).toEqual(
      new Set([
        'segment_unterminated',
        'segment_count_mismatch',
        'set_count_mismatch',
        'group_count_mismatch',
        'set_control_mismatch',
      ]),
    );
    for (const job of refusedJobs) expect(raw.filter((r) => r.jobId === job)).toHaveLength(0);
    expect((await ls(join(inbox, 'quarantine'))).filter((n) => n.endsWith('.x12.enc'))).toHaveLength(
      refused.length,
    );
    const acks = await ls(outbox);
    for (let i = 0; i < FAULTS.length; i += 1)
      expect(acks.filter((n) => n.startsWith(`0000${82001 + i}-`)).length).toBeGreaterThanOrEqual(1);
    const text = (n: string) => readFile(join(outbox, n), 'latin1');
    const cutTa1 = acks.find((n) => n.startsWith('000082001-') && n.endsWith('.ta1'));
    expect(await text(cutTa1 as string)).toMatch(/TA1\*000082001\*\d{6}\*\d{4}\*R\*023~/);
    // The drift switch is the validator's: the receiver's 999 accepted the envelope.
    const drift999 = acks.find((n) => n.startsWith('000081004-') && n.endsWith('.999'));
    expect((await text(drift999 as string)).match(/IK5\*A~/g)).toHaveLength(drift.sets.length);
    // The duplicate: TA1 accepted with note 025, nothing written for it.
    expect(raw.filter((r) => r.jobId === jobIdOf(dup.bytes))).toHaveLength(0);
    const dupTa1s = await Promise.all(
      acks.filter((n) => n.startsWith('000081002-') && n.endsWith('.ta1')).map(text),
    );
    expect(dupTa1s.some((t) => /\*E\*025~/.test(t))).toBe(true);
    // The drift switch: quarantined by the validator with the position, set by set.
    const driftQ = quarantined.filter((q) => q.jobId === jobIdOf(drift.bytes));
    expect(new Set(driftQ.map((q) => q.recordId)).size).toBe(quarantinedSets);
    expect(new Set(driftQ.map((q) => `${q.reason}:${q.fieldPath}`))).toEqual(
      new Set(['missing_required:CLM-02']),
    );
    await consumer.disconnect();

    // Leak scan: the planted values are nowhere in clear (topics, logs, Redis, warehouse), and are
    // found inside the encrypted payloads with the pipeline key (the positive control).
    const report = await runLeakScan({
      canaries: Object.values(PLANT),
      kafka: {
        brokers: env.KAFKA_BROKERS ?? '127.0.0.1:9092',
        registryUrl: env.SCHEMA_REGISTRY_URL ?? '',
        topics: [topics.raw, topics.quarantine, topics.drift, ...topics.valid, ...topics.clean],
        timeoutMs: 60_000,
      },
      logPaths: [join(workDir, 'logs'), outbox],
      redis: { url: env.REDIS_URL ?? 'redis://127.0.0.1:6379', pattern: 'ehrflow:x12:*' },
      postgres: { url: env.DATABASE_URL ?? '', schemas: [schemas.loader] },
      keyring: parseKeyring(env.PHI_KEYRING),
    });
    expect(report.hits).toEqual([]);
    expect(report.protectedMatches).toBeGreaterThan(0);
    expect(leakScanPassed(report)).toBe(true);
  });
});
