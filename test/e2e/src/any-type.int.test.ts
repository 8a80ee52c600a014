/**
 * Any resource type, end to end on the real stack: a source asks for `Patient` and `Flag`, a FHIR
 * R4 type no contract covers, and names no token URL (SMART discovery finds it). The four services
 * run as child processes on topics, groups, subjects, schemas and Redis keys of this run only.
 * Every Flag must reach `ehr.quarantine` as `no_contract`, the validator must report one
 * `unknown_resource_type` drift (one event id, counting every Flag) and one alert, the Patients
 * must load, and the job must complete and reconcile (quarantined Flags count, no gap).
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Admin, createKafka, type KafkaClient } from '@ehrflow/kafka';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCodec,
  createRegistry,
  type DriftEvent,
  type QuarantineRecord,
  type SchemaRegistry,
} from '@ehrflow/contracts';
import { createLogger } from '@ehrflow/logging';
import {
  createScratch,
  type EhrSetup,
  FINAL_STATES,
  getJob,
  type JobView,
  loadOrCreateSecrets,
  provisionPipeline,
  readTopics,
  reconcileCli,
  type Scratch,
  type ServiceHandle,
  type ServiceName,
  stageCounts,
  startEhr,
  startJob,
  startPipelineServices,
  stopPipelineServices,
  topicEnds,
} from '@ehrflow/pipeline-tools';
import { stackEnv, waitFor } from '@ehrflow/testing';
import { cleanUpRun, ledgerCount, runNames } from './run-fixture.ts';

const PATIENTS = 15;
const { runId, prefix, topics, groups, schemas, directoryPrefix } = runNames('any');
const sourceId = `e2e-any-${runId}-site-a`;

/** `loader reconcile --json` for one job. */
interface ReconcileJson {
  readonly jobId: string;
  readonly reconciled: boolean;
  readonly notes: readonly string[];
  readonly rows: readonly { stage: string; count: number | null; gap: number | null; ok: boolean }[];
  readonly byType: Readonly<
    Record<string, { raw: number; valid: number; quarantined: number; loaded: number }>
  >;
}

describe('a source asking for a resource type without a contract', () => {
  let env: NodeJS.ProcessEnv;
  let workDir: string;
  let kafka: KafkaClient | undefined;
  let admin: Admin | undefined;
  let registry: SchemaRegistry | undefined;
  let scratch: Scratch | undefined;
  let pool: pg.Pool | undefined;
  let ehr: EhrSetup | undefined;
  let services = new Map<ServiceName, ServiceHandle>();
  let job: JobView;
  const quarantined: QuarantineRecord[] = [];
  const drift: DriftEvent[] = [];
  let alerts: { resourceType: string; signals: { kind: string }[] }[] = [];
  let reconcile: ReconcileJson;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), `ehrflow-e2e-any-${runId}-`));
    const secrets = await loadOrCreateSecrets(join(workDir, 'secrets.env'));
    env = { ...stackEnv(), ...secrets, EHRFLOW_MODE: 'development', LOG_LEVEL: 'info' };
    const logger = createLogger({ name: 'e2e-any-type', level: 'silent' });
    kafka = createKafka({
      brokers: (env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
      clientId: `e2e-any-${runId}`,
      logger,
      mode: 'development',
    });
    admin = kafka.kafkajs.admin();
    await admin.connect();
    registry = createRegistry({ url: env.SCHEMA_REGISTRY_URL ?? '' });
    scratch = createScratch(admin, registry);
    pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });
    await provisionPipeline(scratch, topics, env);

    ehr = await startEhr({
      seed: `e2e-any-${runId}`,
      sites: ['site-a'],
      patientsPerSite: PATIENTS,
      enforcedPerMinute: 0,
      publishedPerMinute: 6000,
      tokenLifetimeSeconds: 300,
      sourcePrefix: `e2e-any-${runId}-`,
      dir: join(workDir, 'ehr'),
    });
    // What a steward's sources file says: two types, one uncontracted, and no token URL.
    const file = JSON.parse(await readFile(ehr.sourcesFile, 'utf8')) as {
      sources: Record<string, unknown>[];
    };
    for (const source of file.sources) {
      source.resourceTypes = ['Patient', 'Flag'];
      delete source.tokenUrl;
    }
    await writeFile(ehr.sourcesFile, JSON.stringify(file));

    const logDir = join(workDir, 'logs');
    const alertFile = join(workDir, 'alerts.jsonl');
    const baseline = await topicEnds(admin, topics);
    services = await startPipelineServices({
      env,
      topics,
      sourcesFile: ehr.sourcesFile,
      logDir,
      extractorDbSchema: schemas.extractor,
      loaderDbSchema: schemas.loader,
      groups,
      alertFile,
      extraEnv: { redactor: { REDACTOR_DIRECTORY_KEY_PREFIX: directoryPrefix } },
    });
    const extractor = services.get('extractor') as ServiceHandle;
    job = await startJob(extractor.url, { source: sourceId, kind: 'backfill' });
    await waitFor(
      async () => {
        const dead = [...services.values()].find((s) => !s.child.running());
        if (dead !== undefined)
          throw new Error(`${dead.name} exited; see ${join(logDir, `${dead.name}.log`)}`);
        job = await getJob(extractor.url, job.id);
        if (FINAL_STATES.has(job.state) && job.state !== 'completed')
          throw new Error(`the job ended ${job.state} (${job.errorCode ?? 'no code'})`);
        if (job.state !== 'completed') return false;
        const counts = await stageCounts({
          admin: admin as Admin,
          pool: pool as pg.Pool,
          topics,
          baseline,
          loaderSchema: schemas.loader,
          jobIds: [job.id],
          groups,
        });
        return counts.lag.validator === 0 && counts.lag.redactor === 0 && (await ledger(job.id)) >= PATIENTS;
      },
      { timeoutMs: 120_000, intervalMs: 500, what: `${PATIENTS} Patients loaded and every Flag validated` },
    );
    // SIGTERM drains: the validator flushes its pending drift counts and alerts.
    await stopPipelineServices(services);
    services = new Map();

    const codec = createCodec(registry);
    await readTopics(
      kafka.kafkajs,
      { topics: [topics.quarantine, topics.drift], timeoutMs: 60_000 },
      async (r) => {
        if (r.value === null) return;
        const { value } = await codec.decode(r.value);
        if (r.topic === topics.quarantine && (value as QuarantineRecord).jobId === job.id)
          quarantined.push(value as QuarantineRecord);
        if (r.topic === topics.drift && (value as DriftEvent).sourceId === sourceId)
          drift.push(value as DriftEvent);
      },
    );
    alerts = (await readFile(alertFile, 'utf8').catch(() => ''))
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as (typeof alerts)[number]);
    reconcile = JSON.parse(
      await reconcileCli({
        jobIds: [job.id],
        env,
        dbSchema: schemas.loader,
        topicPrefix: prefix,
        timeoutMs: 90_000,
      }),
    ) as ReconcileJson;
  }, 300_000);

  /** Records of a job the loader committed. */
  const ledger = (jobId: string): Promise<number> => ledgerCount(pool, schemas.loader, jobId);

  afterAll(async () => {
    await cleanUpRun({
      services,
      ehr,
      scratch,
      admin,
      groups,
      registry,
      pool,
      schemas,
      redis: env?.REDIS_URL,
      redisKeys: [`${directoryPrefix}*`, `ehrflow:*:${sourceId}*`],
      workDir,
    });
  }, 120_000);

  it('extracts both types, the uncontracted one included, through a discovered token endpoint', () => {
    expect(job.state).toBe('completed');
    expect(job.counts).toMatchObject({ read: 2 * PATIENTS, produced: 2 * PATIENTS, errors: 0 });
  });

  it('quarantines every Flag as no_contract, and nothing else', () => {
    expect(quarantined).toHaveLength(PATIENTS);
    expect(new Set(quarantined.map((q) => q.recordId)).size).toBe(PATIENTS);
    for (const q of quarantined)
      expect(q).toMatchObject({
        reason: 'no_contract',
        resourceType: 'Flag',
        fieldPath: 'resourceType',
        sourceId,
      });
  });

  it('reports one unknown_resource_type drift for Flag that counts every record, and one alert', () => {
    const ids = new Set(drift.filter((e) => e.kind === 'unknown_resource_type').map((e) => e.eventId));
    expect(ids.size).toBe(1);
    const latest = drift
      .filter((e) => e.kind === 'unknown_resource_type')
      .sort((a, b) => Number(b.count - a.count))[0];
    expect(latest).toMatchObject({ resourceType: 'Flag', schemaSubject: null });
    expect(Number(latest?.count)).toBe(PATIENTS);
    const flagAlerts = alerts.filter((a) => a.resourceType === 'Flag');
    expect(flagAlerts).toHaveLength(1);
    expect(flagAlerts[0]?.signals.map((s) => s.kind)).toContain('unknown_resource_type');
  });

  it('reconciles: raw = valid + quarantined, the Patients loaded, no gap', () => {
    expect(reconcile.jobId).toBe(job.id);
    expect(reconcile.notes).toEqual([]);
    expect(reconcile.rows.filter((r) => !r.ok)).toEqual([]);
    expect(reconcile.byType.Flag).toMatchObject({
      raw: PATIENTS,
      valid: 0,
      quarantined: PATIENTS,
      loaded: 0,
    });
    expect(reconcile.byType.Patient).toMatchObject({
      raw: PATIENTS,
      valid: PATIENTS,
      quarantined: 0,
      loaded: PATIENTS,
    });
    expect(reconcile.reconciled).toBe(true);
  });
});
