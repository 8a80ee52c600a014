/**
 * Replicas that stay correct: two replicas of each consumer stage (validator and redactor with
 * transactional delivery, loader) in the same groups on one topic set, a backfill with a source
 * that renames a Patient field part way through, and mid-run a third validator joins while one
 * redactor leaves (two rebalances). Proof: every served resource is loaded exactly once (loaded
 * = served − quarantined, and the job reconciles), one alert for the drift across all validators
 * (shared through Redis), and no producer was fenced (each replica has its own transactional id).
 *
 * `EHRFLOW_REPLICAS_TEST=0` skips it (about 1 minute).
 */
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Admin, createKafka } from '@ehrflow/kafka';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry, type SchemaRegistry } from '@ehrflow/contracts';
import { createLogger } from '@ehrflow/logging';
import {
  type Child,
  createScratch,
  type EhrSetup,
  FINAL_STATES,
  getJob,
  type JobView,
  loadOrCreateSecrets,
  type PipelineServicesOptions,
  provisionPipeline,
  reconcileCli,
  type Scratch,
  serviceEnv,
  serviceMain,
  type ServiceName,
  stageCounts,
  type StageCounts,
  startChild,
  startEhr,
  startJob,
  topicEnds,
} from '@ehrflow/pipeline-tools';
import { freePort, REPO_ROOT, stackEnv, waitFor } from '@ehrflow/testing';
import { cleanUpRun, runNames } from './run-fixture.ts';

const PATIENTS = 60;
const { runId, prefix, topics, groups, schemas, directoryPrefix } = runNames('rep');
const enabled = process.env.EHRFLOW_REPLICAS_TEST !== '0';

function workersEnv(name: 'VALIDATOR_WORKERS' | 'REDACTOR_WORKERS'): Record<string, string> {
  const value = process.env[name];
  return value === undefined ? {} : { [name]: value };
}

interface Replica {
  readonly name: string;
  readonly service: ServiceName;
  readonly child: Child;
  readonly url: string;
}

interface Outcome {
  readonly served: number;
  readonly job: JobView;
  readonly counts: StageCounts;
  readonly reconcile: {
    reconciled?: unknown;
    notes?: unknown;
    rows?: { stage: string; count: number | null }[];
    jobs?: { rows?: { stage: string; count: number | null }[] }[];
  };
  readonly alerts: { sourceId: string; resourceType: string; signals: { kind: string }[] }[];
  readonly fencingLines: number;
  readonly replicasSeen: Readonly<Record<string, number>>;
  readonly exits: Readonly<Record<string, number | string>>;
}

describe.skipIf(!enabled)('two replicas per consumer stage, with a rebalance mid-run', () => {
  const env = stackEnv();
  const replicas: Replica[] = [];
  let workDir: string;
  let admin: Admin | undefined;
  let registry: SchemaRegistry | undefined;
  let scratch: Scratch | undefined;
  let pool: pg.Pool | undefined;
  let ehr: EhrSetup | undefined;
  let outcome: Outcome;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), `ehrflow-rep-${runId}-`));
    const secrets = await loadOrCreateSecrets(join(workDir, 'secrets.env'));
    const logger = createLogger({ name: 'e2e-replicas', level: 'silent' });
    admin = createKafka({
      brokers: (env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
      clientId: `e2e-rep-${runId}`,
      logger,
      mode: 'development',
    }).kafkajs.admin();
    await admin.connect();
    registry = createRegistry({ url: env.SCHEMA_REGISTRY_URL ?? '' });
    scratch = createScratch(admin, registry);
    pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });
    await provisionPipeline(scratch, topics, env);
    ehr = await startEhr({
      seed: `e2e-rep-${runId}`,
      sites: ['site-r'],
      patientsPerSite: PATIENTS,
      enforcedPerMinute: 0,
      publishedPerMinute: 6000,
      tokenLifetimeSeconds: 300,
      sourcePrefix: `e2e-rep-${runId}-`,
      dir: join(workDir, 'ehr'),
      // A slow link keeps records flowing long enough for the rebalances to land mid-run.
      faults: {
        servedLinesPerSecond: 150,
        drift: {
          resourceType: 'Patient',
          after: Math.floor(PATIENTS / 2),
          mode: 'rename',
          field: 'birthDate',
          to: 'dateOfBirth',
        },
      },
    });
    const alertFile = join(workDir, 'alerts.jsonl');
    await writeFile(alertFile, '');
    const options: PipelineServicesOptions = {
      env: {
        PATH: process.env.PATH,
        KAFKA_BROKERS: env.KAFKA_BROKERS,
        SCHEMA_REGISTRY_URL: env.SCHEMA_REGISTRY_URL,
        REDIS_URL: env.REDIS_URL,
        DATABASE_URL: env.DATABASE_URL,
        ...secrets,
        LOG_LEVEL: 'info',
      },
      topics,
      sourcesFile: ehr.sourcesFile,
      logDir: join(workDir, 'logs'),
      extractorDbSchema: schemas.extractor,
      loaderDbSchema: schemas.loader,
      groups,
      alertFile,
      extraEnv: {
        // VALIDATOR_WORKERS / REDACTOR_WORKERS from the environment run the replicas with worker threads.
        validator: { VALIDATOR_DELIVERY: 'transactional', ...workersEnv('VALIDATOR_WORKERS') },
        redactor: {
          REDACTOR_DELIVERY: 'transactional',
          ...workersEnv('REDACTOR_WORKERS'),
          REDACTOR_DIRECTORY_KEY_PREFIX: directoryPrefix,
        },
      },
    };

    const start = async (service: ServiceName, index: number): Promise<Replica> => {
      const port = await freePort();
      const name = `${service}-${index}`;
      // Each replica is its own pod: the validator derives its transactional id from HOSTNAME (the
      // pod name); the redactor's default is the OS host name, the same for every process here,
      // so it gets its id as the manifests give it, from the pod name.
      const child = await startChild({
        name,
        args: [serviceMain(service) as string],
        env: {
          ...serviceEnv(service, port, options),
          HOSTNAME: `${name}-${runId}`,
          ...(service === 'redactor' ? { REDACTOR_TRANSACTIONAL_ID: `${groups.redactor}-tx-${name}` } : {}),
        },
        logFile: join(workDir, 'logs', `${name}.log`),
        cwd: REPO_ROOT,
      });
      const replica = { name, service, child, url: `http://127.0.0.1:${port}` };
      replicas.push(replica);
      await waitFor(
        async () => {
          if (!child.running())
            throw new Error(`${name} exited during start; see ${join(workDir, 'logs', `${name}.log`)}`);
          try {
            const res = await fetch(`${replica.url}/readyz`, { signal: AbortSignal.timeout(2_000) });
            await res.body?.cancel();
            return res.status === 200;
          } catch {
            return false;
          }
        },
        { timeoutMs: 90_000, intervalMs: 300, what: `${name} to be ready` },
      );
      return replica;
    };

    await Promise.all([start('loader', 1), start('loader', 2)]);
    await Promise.all([start('redactor', 1), start('redactor', 2)]);
    await Promise.all([start('validator', 1), start('validator', 2)]);
    const extractor = await start('extractor', 1);

    const baseline = await topicEnds(admin, topics);
    const sourceId = ehr.sourceIds.get('site-r') as string;
    const served = ehr.expectedPerSource.get(sourceId) ?? 0;
    let job = await startJob(extractor.url, { source: sourceId, kind: 'backfill' });
    let counts: StageCounts | undefined;
    let rebalanced = false;
    const exits: Record<string, number | string> = {};
    await waitFor(
      async () => {
        const dead = replicas.find((r) => !r.child.running() && exits[r.name] === undefined);
        if (dead !== undefined) {
          const log = await readFile(join(workDir, 'logs', `${dead.name}.log`), 'utf8').catch(() => '');
          throw new Error(`${dead.name} exited; last log lines:\n${log.split('\n').slice(-8).join('\n')}`);
        }
        job = await getJob(extractor.url, job.id);
        counts = await stageCounts({
          admin: admin as Admin,
          pool: pool as pg.Pool,
          topics,
          baseline,
          loaderSchema: schemas.loader,
          jobIds: [job.id],
          groups,
        });
        if (!rebalanced && counts.raw > served / 4) {
          rebalanced = true;
          // Mid-run: one validator joins, one redactor leaves (SIGTERM: it drains and exits).
          const leaving = replicas.find((r) => r.name === 'redactor-2') as Replica;
          const [, code] = await Promise.all([start('validator', 3), leaving.child.stop(20_000)]);
          exits[leaving.name] = code;
        }
        if (FINAL_STATES.has(job.state) && job.state !== 'completed')
          throw new Error(`the backfill ended ${job.state} (${job.errorCode ?? 'no code'})`);
        return (
          job.state === 'completed' &&
          counts.lag.validator === 0 &&
          counts.lag.redactor === 0 &&
          counts.loaded + counts.quarantined >= served
        );
      },
      { timeoutMs: 240_000, intervalMs: 500, what: `${served} resources through the replicated pipeline` },
    );
    // Settle: a late duplicate would show up as more rows than served after this.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    counts = await stageCounts({
      admin,
      pool,
      topics,
      baseline,
      loaderSchema: schemas.loader,
      jobIds: [job.id],
      groups,
    });
    for (const r of replicas) if (exits[r.name] === undefined) exits[r.name] = await r.child.stop(20_000);
    const reconcile = JSON.parse(
      await reconcileCli({
        jobIds: [job.id],
        env: options.env,
        dbSchema: schemas.loader,
        topicPrefix: prefix,
      }),
    ) as Outcome['reconcile'];
    const alerts = (await readFile(alertFile, 'utf8'))
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Outcome['alerts'][number]);
    let fencingLines = 0;
    for (const file of await readdir(join(workDir, 'logs'))) {
      const text = await readFile(join(workDir, 'logs', file), 'utf8');
      fencingLines += text
        .split('\n')
        .filter((l) => /fenc|INVALID_PRODUCER_EPOCH|PRODUCER_FENCED/i.test(l)).length;
    }
    const replicasSeen: Record<string, number> = {};
    for (const r of replicas) replicasSeen[r.service] = (replicasSeen[r.service] ?? 0) + 1;
    outcome = { served, job, counts, reconcile, alerts, fencingLines, replicasSeen, exits };
  }, 420_000);

  afterAll(async () => {
    for (const r of replicas) if (r.child.running()) await r.child.stop(10_000);
    await cleanUpRun({
      ehr,
      scratch,
      admin,
      groups,
      registry,
      pool,
      schemas,
      redis: env.REDIS_URL,
      redisKeys: [`${directoryPrefix}*`, `ehrflow:*:e2e-rep-${runId}-*`],
      workDir,
    });
  }, 120_000);

  it('ran two validators (then three), two redactors (then one) and two loaders', () => {
    expect(outcome.replicasSeen).toEqual({ loader: 2, redactor: 2, validator: 3, extractor: 1 });
    expect(outcome.exits['redactor-2']).toBe(0);
  });

  it('loses and duplicates nothing: loaded = served − quarantined, and the job reconciles', () => {
    expect(outcome.job.state).toBe('completed');
    // Counted by decoding the job's records (topic offsets would also count transaction markers).
    const rows = outcome.reconcile.rows ?? outcome.reconcile.jobs?.[0]?.rows ?? [];
    const quarantined = rows.find((r) => r.stage === 'quarantined')?.count;
    expect(typeof quarantined).toBe('number');
    expect(outcome.counts.loaded).toBe(outcome.served - (quarantined ?? 0));
    expect(outcome.reconcile.notes).toEqual([]);
    expect(outcome.reconcile.reconciled).toBe(true);
  });

  it('sends one alert for the drift across all validator replicas', () => {
    const patientAlerts = outcome.alerts.filter((a) => a.resourceType === 'Patient');
    expect(patientAlerts).toHaveLength(1);
  });

  it('fenced no producer', () => {
    expect(outcome.fencingLines).toBe(0);
  });
});
