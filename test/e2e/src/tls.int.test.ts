/**
 * The real pipeline over TLS: the four services as child processes whose environment holds ONLY
 * the TLS endpoints of the local stack (`deploy/local/stack up --tls`): Kafka through the SASL_SSL
 * listener (SCRAM-SHA-512), Redis and PostgreSQL through their TLS-only servers; the schema
 * registry stays on plain HTTP. 50 patients at one simulated site, no faults, on topics, subjects,
 * consumer groups, database schemas and Redis keys of this run only.
 *
 * Proof from the server side that the connections really were TLS: PostgreSQL's `pg_stat_ssl` for
 * the extractor's and the loader's sessions; the Redis server listens on TLS only (`port 0`) and
 * holds the keys the extractor and redactor wrote; the Kafka endpoint the services were given is
 * the broker's advertised SASL_SSL listener. Services run with EHRFLOW_MODE=production, so a
 * client falling back to plaintext would log a warning, which the test looks for.
 *
 * Runs when `$EHRFLOW_STACK_HOME/run/tls.env` exists (default `.run/stack/run/tls.env`; written by
 * `stack up --tls`, removed by `stack down`); skipped with the reason in its title otherwise.
 * Schemas need no registration beforehand: this run registers its own subjects.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ConfigResourceTypes, type Admin, createKafka } from '@ehrflow/kafka';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaTls, pgTls, redisTls } from '@ehrflow/config';
import { createRegistry, type SchemaRegistry } from '@ehrflow/contracts';
import { createLogger } from '@ehrflow/logging';
import {
  createScratch,
  type EhrSetup,
  FINAL_STATES,
  getJob,
  type JobView,
  loadOrCreateSecrets,
  provisionPipeline,
  reconcileCli,
  type Scratch,
  type ServiceHandle,
  type ServiceName,
  stageCounts,
  type StageCounts,
  startEhr,
  startJob,
  startPipelineServices,
  stopPipelineServices,
  topicEnds,
} from '@ehrflow/pipeline-tools';
import { REPO_ROOT, waitFor } from '@ehrflow/testing';
import { cleanUpRun, runNames } from './run-fixture.ts';

const stackHome = process.env.EHRFLOW_STACK_HOME ?? join(REPO_ROOT, '.run', 'stack');
const tlsEnvFile = join(stackHome, 'run', 'tls.env');
const tlsStackUp = existsSync(tlsEnvFile);
const title = tlsStackUp
  ? 'the pipeline over TLS (Kafka SASL_SSL, Redis TLS, PostgreSQL TLS)'
  : `the pipeline over TLS — skipped: no TLS stack (${tlsEnvFile} is absent; run deploy/local/stack up --tls)`;

const PATIENTS = 50;
const { runId, prefix, topics, groups, schemas, directoryPrefix } = runNames('tls');
const TLS_VARIABLES = ['KAFKA_BROKERS', 'KAFKA_SSL_CA', 'KAFKA_SASL_PASSWORD', 'REDIS_URL', 'DATABASE_URL'];

function readEnvFile(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

/** One PostgreSQL backend seen in `pg_stat_ssl` while the services ran. */
interface PgSession {
  readonly app: string;
  readonly ssl: boolean;
  readonly version: string | null;
}

interface RunOutcome {
  readonly served: number;
  readonly job: JobView;
  readonly counts: StageCounts;
  readonly reconcile: { reconciled?: unknown; notes?: unknown };
  readonly pgSessions: readonly PgSession[];
  /** TCP backends of the TLS server without TLS (must be none). */
  readonly plainBackends: number;
  readonly logs: Readonly<Record<string, string>>;
}

describe.skipIf(!tlsStackUp)(title, () => {
  /** Only the TLS stack's variables (no inherited KAFKA_BROKERS, REDIS_URL or DATABASE_URL). */
  let serviceEnvBase: NodeJS.ProcessEnv;
  let tlsVars: Record<string, string>;
  let workDir: string;
  let admin: Admin | undefined;
  let registry: SchemaRegistry | undefined;
  let scratch: Scratch | undefined;
  let pool: pg.Pool | undefined;
  let redis: Redis | undefined;
  let ehr: EhrSetup | undefined;
  let services = new Map<ServiceName, ServiceHandle>();
  let outcome: RunOutcome;

  beforeAll(async () => {
    tlsVars = readEnvFile(tlsEnvFile);
    for (const name of TLS_VARIABLES)
      if (tlsVars[name] === undefined) throw new Error(`${tlsEnvFile} lacks ${name} (re-run stack up --tls)`);
    workDir = await mkdtemp(join(tmpdir(), `ehrflow-e2e-tls-${runId}-`));
    const secrets = await loadOrCreateSecrets(join(workDir, 'secrets.env'));
    serviceEnvBase = {
      PATH: process.env.PATH,
      ...tlsVars,
      ...secrets,
      // Outside development a plaintext client logs a warning: the logs are checked for it below.
      EHRFLOW_MODE: 'production',
      LOG_LEVEL: 'info',
    };

    const logger = createLogger({ name: 'e2e-tls', level: 'silent' });
    const kafkaClient = createKafka({
      brokers: (tlsVars.KAFKA_BROKERS ?? '').split(','),
      clientId: `e2e-tls-${runId}`,
      logger,
      mode: 'production',
      ...kafkaOptions(serviceEnvBase),
    });
    admin = kafkaClient.kafkajs.admin();
    await admin.connect();
    registry = createRegistry({ url: tlsVars.SCHEMA_REGISTRY_URL ?? '' });
    scratch = createScratch(admin, registry);
    const db = pgTls(serviceEnvBase);
    pool = new pg.Pool({ connectionString: db.connectionString, ...(db.ssl ? { ssl: db.ssl } : {}), max: 2 });
    const { tls } = redisTls(serviceEnvBase);
    redis = new Redis(tlsVars.REDIS_URL ?? '', { ...(tls ? { tls } : {}), maxRetriesPerRequest: 2 });

    await provisionPipeline(scratch, topics, serviceEnvBase);
    ehr = await startEhr({
      seed: `e2e-tls-${runId}`,
      sites: ['site-a'],
      patientsPerSite: PATIENTS,
      enforcedPerMinute: 0,
      publishedPerMinute: 6000,
      tokenLifetimeSeconds: 300,
      sourcePrefix: `e2e-tls-${runId}-`,
      dir: join(workDir, 'ehr'),
    });
    outcome = await runPipeline(ehr, workDir, pool);
  }, 420_000);

  afterAll(async () => {
    const sourceId = `e2e-tls-${runId}-site-a`;
    await cleanUpRun({
      services,
      ehr,
      scratch,
      admin,
      groups,
      registry,
      pool,
      schemas,
      redis,
      // Without the TLS client (its set-up stopped before it), Redis is left alone.
      redisKeys: redis === undefined ? [] : [`${directoryPrefix}*`, `ehrflow:*:${sourceId}*`],
      workDir,
    });
  }, 120_000);

  /** Starts the services on the TLS env only, runs one backfill and watches the server side. */
  async function runPipeline(setup: EhrSetup, dir: string, db: pg.Pool): Promise<RunOutcome> {
    const logDir = join(dir, 'logs');
    const baseline = await topicEnds(admin as Admin, topics);
    services = await startPipelineServices({
      env: serviceEnvBase,
      topics,
      sourcesFile: setup.sourcesFile,
      logDir,
      extractorDbSchema: schemas.extractor,
      loaderDbSchema: schemas.loader,
      groups,
      extraEnv: { redactor: { REDACTOR_DIRECTORY_KEY_PREFIX: directoryPrefix } },
    });
    const extractor = services.get('extractor') as ServiceHandle;
    const sourceId = setup.sourceIds.get('site-a') as string;
    const served = setup.expectedPerSource.get(sourceId) ?? 0;
    let job = await startJob(extractor.url, { source: sourceId, kind: 'backfill' });
    const sessions = new Map<string, PgSession>();
    let plainBackends = 0;
    let counts: StageCounts | undefined;
    await waitFor(
      async () => {
        const dead = [...services.values()].find((s) => !s.child.running());
        if (dead !== undefined)
          throw new Error(`${dead.name} exited; see ${join(logDir, `${dead.name}.log`)}`);
        // Sessions come and go with the pools: collect every one seen while the pipeline runs.
        const { rows } = await db.query<PgSession & { pid: number }>(
          `select s.pid, a.application_name as app, s.ssl, s.version
             from pg_stat_ssl s join pg_stat_activity a on a.pid = s.pid
            where a.application_name = any($1)`,
          [['extractor', 'loader']],
        );
        for (const row of rows) sessions.set(`${row.app}/${row.pid}`, row);
        const plain = await db.query<{ n: string }>(
          `select count(*) as n from pg_stat_ssl s join pg_stat_activity a on a.pid = s.pid
            where a.client_addr is not null and not s.ssl`,
        );
        plainBackends = Math.max(plainBackends, Number(plain.rows[0]?.n ?? 0));
        job = await getJob(extractor.url, job.id);
        counts = await stageCounts({
          admin: admin as Admin,
          pool: db,
          topics,
          baseline,
          loaderSchema: schemas.loader,
          jobIds: [job.id],
          groups,
        });
        if (FINAL_STATES.has(job.state) && job.state !== 'completed')
          throw new Error(`the backfill ended ${job.state} (${job.errorCode ?? 'no code'})`);
        return (
          job.state === 'completed' &&
          counts.lag.validator === 0 &&
          counts.lag.redactor === 0 &&
          counts.loaded + counts.quarantined >= served
        );
      },
      { timeoutMs: 240_000, intervalMs: 500, what: `${served} resources to pass the pipeline over TLS` },
    );
    await stopPipelineServices(services);
    services = new Map();

    const stdout = await reconcileCli({
      jobIds: [job.id],
      env: serviceEnvBase,
      dbSchema: schemas.loader,
      topicPrefix: prefix,
      timeoutMs: 120_000,
    });
    const logs: Record<string, string> = {};
    for (const file of await readdir(logDir)) logs[file] = await readFile(join(logDir, file), 'utf8');
    return {
      served,
      job,
      counts: counts as StageCounts,
      reconcile: JSON.parse(stdout) as RunOutcome['reconcile'],
      pgSessions: [...sessions.values()],
      plainBackends,
      logs,
    };
  }

  it('gives the services TLS endpoints only, and the Kafka one is the broker’s SASL_SSL listener', async () => {
    expect(serviceEnvBase.KAFKA_SSL).toBe('true');
    expect(serviceEnvBase.KAFKA_SASL_MECHANISM).toBe('scram-sha-512');
    expect(serviceEnvBase.REDIS_URL).toMatch(/^rediss:\/\//);
    expect(new URL(serviceEnvBase.DATABASE_URL ?? '').searchParams.get('sslmode')).toBe('verify-full');
    const { resources } = await (admin as Admin).describeConfigs({
      resources: [{ type: ConfigResourceTypes.BROKER, name: '1', configNames: ['advertised.listeners'] }],
      includeSynonyms: false,
    });
    const advertised = resources[0]?.configEntries.find((e) => e.configName === 'advertised.listeners');
    const listeners = (advertised?.configValue ?? '').split(',');
    for (const broker of (serviceEnvBase.KAFKA_BROKERS ?? '').split(','))
      expect(listeners).toContain(`SASL_SSL://${broker}`);
  });

  it('runs the backfill to completion and loads every resource the EHR served', () => {
    expect(outcome.served).toBeGreaterThan(PATIENTS);
    expect(outcome.job.state).toBe('completed');
    expect(outcome.counts.quarantined).toBe(0);
    expect(outcome.counts.loaded).toBe(outcome.served);
  });

  it('reconciles the job (loader CLI over SASL_SSL and TLS PostgreSQL)', () => {
    expect(outcome.reconcile.notes).toEqual([]);
    expect(outcome.reconcile.reconciled).toBe(true);
  });

  it('PostgreSQL saw the extractor and the loader over TLS only', () => {
    const apps = new Set(outcome.pgSessions.map((s) => s.app));
    expect([...apps].sort()).toEqual(['extractor', 'loader']);
    expect(outcome.pgSessions.every((s) => s.ssl)).toBe(true);
    expect(outcome.pgSessions.every((s) => /^TLSv1\.[23]$/.test(s.version ?? ''))).toBe(true);
    expect(outcome.plainBackends).toBe(0);
  });

  it('Redis listens on TLS only and holds what the extractor and the redactor wrote', async () => {
    const client = redis as Redis;
    expect(await client.config('GET', 'port')).toEqual(['port', '0']);
    const sourceId = `e2e-tls-${runId}-site-a`;
    expect((await client.keys(`ehrflow:*:${sourceId}*`)).length).toBeGreaterThan(0);
    expect((await client.keys(`${directoryPrefix}*`)).length).toBeGreaterThan(0);
  });

  it('no service fell back to plaintext, and no secret reached a log', () => {
    const names = Object.keys(outcome.logs).sort();
    expect(names).toEqual(['extractor.log', 'loader.log', 'redactor.log', 'validator.log']);
    const secrets = [tlsVars.KAFKA_SASL_PASSWORD ?? '', new URL(tlsVars.REDIS_URL ?? '').password];
    for (const [file, text] of Object.entries(outcome.logs)) {
      expect(text.length, `${file} is empty`).toBeGreaterThan(0);
      expect(text, file).not.toMatch(/plaintext|unencrypted/i);
      for (const secret of secrets) expect(text.includes(secret), `${file} carries a secret`).toBe(false);
    }
  });
});

/** kafkajs TLS and SASL for the test's own admin client, read the same way the services read them. */
function kafkaOptions(env: NodeJS.ProcessEnv) {
  const { ssl, sasl } = kafkaTls(env);
  return { ...(ssl ? { ssl } : {}), ...(sasl ? { sasl } : {}) };
}
