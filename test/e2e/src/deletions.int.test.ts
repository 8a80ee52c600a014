/**
 * Source deletions end to end on the real stack: the four services as child processes on topics,
 * consumer groups, subjects, database schemas and Redis keys of this run only. A backfill loads
 * every resource of one simulated site; then the EHR reports some of them deleted (the same data
 * set, restarted with a share of its clinical resources deleted) and a `_since` export lists those
 * deleted since the chosen instant. Their DELETE envelopes must pass the validator (logical id
 * encrypted), the redactor (logical id pseudonymised like the upserts') and the loader, and
 * tombstone exactly the rows the backfill created — no new rows, every other row untouched — and
 * both jobs must reconcile.
 */
import { createHash } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Admin, createKafka } from '@ehrflow/kafka';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry, type SchemaRegistry } from '@ehrflow/contracts';
import { RESOURCE_TYPES, resourceId } from '@ehrflow/ehr-sim';
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
  snakeCase,
  stageCounts,
  startEhr,
  startJob,
  startPipelineServices,
  stopPipelineServices,
  topicEnds,
} from '@ehrflow/pipeline-tools';
import { stackEnv, waitFor } from '@ehrflow/testing';
import { cleanUpRun, ledgerCount, runNames } from './run-fixture.ts';

const PATIENTS = 20;
/** Share of clinical resources the restarted EHR reports deleted. */
const DELETED_FRACTION = 0.2;
const { runId, prefix, topics, groups, schemas, directoryPrefix } = runNames('del');
const sourceId = `e2e-del-${runId}-site-a`;

/** The record id of a deletion, as `schemas/pipeline/raw-envelope.avsc` defines record ids (version `deleted`). */
function deletionRecordId(type: string, id: string): string {
  return createHash('sha256')
    .update([sourceId, type, id, 'deleted'].join('\u0000'))
    .digest('hex')
    .slice(0, 32);
}

interface Row {
  readonly type: string;
  readonly record_id: string;
  readonly job_id: string;
  readonly deleted: boolean;
}

interface ReconcileJson {
  readonly reconciled: boolean;
  readonly jobs: readonly {
    readonly jobId: string;
    readonly reconciled: boolean;
    readonly notes: readonly string[];
    readonly rows: readonly { stage: string; count: number | null; deletes?: number; ok: boolean }[];
  }[];
}

describe('source deletions through the whole pipeline', () => {
  let env: NodeJS.ProcessEnv;
  let workDir: string;
  let admin: Admin | undefined;
  let registry: SchemaRegistry | undefined;
  let scratch: Scratch | undefined;
  let pool: pg.Pool | undefined;
  let ehr: EhrSetup | undefined;
  let services = new Map<ServiceName, ServiceHandle>();
  let served = 0;
  let backfill: JobView;
  let since: JobView;
  /** Deletion record ids the `_since` export must report. */
  let expectedDeletes = new Set<string>();
  let rowsAfterBackfill: Row[] = [];
  let rowsAfterSince: Row[] = [];
  let reconcile: ReconcileJson;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), `ehrflow-e2e-del-${runId}-`));
    const secrets = await loadOrCreateSecrets(join(workDir, 'secrets.env'));
    env = { ...stackEnv(), ...secrets, EHRFLOW_MODE: 'development', LOG_LEVEL: 'info' };
    const logger = createLogger({ name: 'e2e-deletions', level: 'silent' });
    const kafka = createKafka({
      brokers: (env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
      clientId: `e2e-del-${runId}`,
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
      seed: `e2e-del-${runId}`,
      sites: ['site-a'],
      patientsPerSite: PATIENTS,
      enforcedPerMinute: 0,
      publishedPerMinute: 6000,
      tokenLifetimeSeconds: 300,
      sourcePrefix: `e2e-del-${runId}-`,
      dir: join(workDir, 'ehr'),
    });
    served = ehr.expectedPerSource.get(sourceId) ?? 0;
    const logDir = join(workDir, 'logs');
    const baseline = await topicEnds(admin, topics);
    services = await startPipelineServices({
      env,
      topics,
      sourcesFile: ehr.sourcesFile,
      logDir,
      extractorDbSchema: schemas.extractor,
      loaderDbSchema: schemas.loader,
      groups,
      extraEnv: { redactor: { REDACTOR_DIRECTORY_KEY_PREFIX: directoryPrefix } },
    });
    const extractor = services.get('extractor') as ServiceHandle;

    /** Waits until the job completed, the validator and redactor drained, and the loader's ledger holds `records` of it. */
    const run = async (job: JobView, records: number, what: string): Promise<JobView> => {
      let view = job;
      await waitFor(
        async () => {
          const dead = [...services.values()].find((s) => !s.child.running());
          if (dead !== undefined)
            throw new Error(`${dead.name} exited; see ${join(logDir, `${dead.name}.log`)}`);
          view = await getJob(extractor.url, job.id);
          if (FINAL_STATES.has(view.state) && view.state !== 'completed')
            throw new Error(`${what} ended ${view.state} (${view.errorCode ?? 'no code'})`);
          if (view.state !== 'completed') return false;
          const counts = await stageCounts({
            admin: admin as Admin,
            pool: pool as pg.Pool,
            topics,
            baseline,
            loaderSchema: schemas.loader,
            jobIds: [job.id],
            groups,
          });
          return counts.lag.validator === 0 && counts.lag.redactor === 0 && (await ledger(job.id)) >= records;
        },
        { timeoutMs: 240_000, intervalMs: 500, what },
      );
      return view;
    };

    backfill = await run(
      await startJob(extractor.url, { source: sourceId, kind: 'backfill' }),
      served,
      `${served} resources of the backfill to be loaded`,
    );
    rowsAfterBackfill = await tableRows();

    // The same data set, now with a share of its clinical resources deleted at the source.
    ehr = await ehr.restart({ deletedFraction: DELETED_FRACTION });
    const window = sinceInstant(ehr);
    expectedDeletes = window.deletes;
    since = await run(
      await startJob(extractor.url, { source: sourceId, kind: 'backfill', since: window.since }),
      window.read,
      `the _since export (${window.read} records, ${window.deletes.size} deletions) to be loaded`,
    );
    rowsAfterSince = await tableRows();
    await stopPipelineServices(services);
    services = new Map();

    const stdout = await reconcileCli({
      jobIds: [backfill.id, since.id],
      env,
      dbSchema: schemas.loader,
      topicPrefix: prefix,
      timeoutMs: 120_000,
    });
    reconcile = JSON.parse(stdout) as ReconcileJson;
  }, 600_000);

  /** Records of a job the loader committed. */
  const ledger = (jobId: string): Promise<number> => ledgerCount(pool, schemas.loader, jobId);

  /** Every row of the run's source in the loader's tables. */
  async function tableRows(): Promise<Row[]> {
    const out: Row[] = [];
    for (const type of RESOURCE_TYPES) {
      const { rows } = await (pool as pg.Pool).query<Omit<Row, 'type'>>(
        `select record_id, job_id, _deleted_at is not null as deleted from "${schemas.loader}"."${snakeCase(type)}" where source_id = $1`,
        [sourceId],
      );
      out.push(...rows.map((r) => ({ type, ...r })));
    }
    return out;
  }

  /**
   * A `_since` instant in the middle of the data's history, the deletions the export will report
   * for it, and how many records it reads (live resources updated since, plus those deletions).
   */
  function sinceInstant(setup: EhrSetup): { since: string; deletes: Set<string>; read: number } {
    const layout = setup.sim.generator.layout('site-a');
    const metas = RESOURCE_TYPES.flatMap((type) =>
      Array.from({ length: layout.count(type) }, (_, i) => ({
        type,
        i,
        meta: setup.sim.generator.meta('site-a', type, i),
      })),
    );
    const times = metas.map((m) => m.meta.lastUpdatedMs).sort((a, b) => a - b);
    const sinceMs = Math.floor((times[Math.floor(times.length / 2)] ?? 0) / 1000) * 1000;
    const inWindow = metas.filter((m) => m.meta.lastUpdatedMs >= sinceMs);
    const deletes = new Set(
      inWindow.filter((m) => m.meta.deleted).map((m) => deletionRecordId(m.type, resourceId(m.type, m.i))),
    );
    return { since: new Date(sinceMs).toISOString(), deletes, read: inWindow.length };
  }

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

  it('loads the backfill: one live row per resource the EHR served', () => {
    expect(served).toBeGreaterThan(PATIENTS);
    expect(backfill.counts).toMatchObject({ read: served, produced: served, deleted: 0, errors: 0 });
    expect(rowsAfterBackfill).toHaveLength(served);
    expect(rowsAfterBackfill.every((r) => !r.deleted && r.job_id === backfill.id)).toBe(true);
  });

  it('extracts exactly the deletions the EHR reports for the window', () => {
    expect(expectedDeletes.size).toBeGreaterThan(2);
    expect(since.counts).toMatchObject({ deleted: expectedDeletes.size, errors: 0 });
  });

  it('tombstones exactly those rows, creates none, and leaves every other row as the backfill left it', () => {
    // As many rows as before: every tombstone found the row its resource's upsert created (same
    // source and pseudonymised logical id), none was inserted beside it.
    expect(rowsAfterSince).toHaveLength(served);
    const deleted = rowsAfterSince.filter((r) => r.deleted);
    expect(deleted).toHaveLength(expectedDeletes.size);
    expect(new Set(deleted.map((r) => r.record_id))).toEqual(expectedDeletes);
    expect(deleted.every((r) => r.job_id === since.id)).toBe(true);
    const before = new Map(rowsAfterBackfill.map((r) => [`${r.type}/${r.record_id}`, r]));
    const live = rowsAfterSince.filter((r) => !r.deleted);
    expect(live).toHaveLength(served - expectedDeletes.size);
    // Re-exported live resources are the same versions: ignored, so the rows still say backfill.
    for (const r of live) expect(before.get(`${r.type}/${r.record_id}`)).toEqual(r);
  });

  it('reconciles both jobs, the deletions stage by stage', () => {
    expect(reconcile.jobs.map((j) => [j.jobId, j.reconciled, j.notes])).toEqual([
      [backfill.id, true, []],
      [since.id, true, []],
    ]);
    expect(reconcile.reconciled).toBe(true);
    const sinceRows = reconcile.jobs[1]?.rows ?? [];
    const deletesAt = (stage: string) => sinceRows.find((r) => r.stage === stage)?.deletes;
    for (const stage of ['raw', 'valid', 'clean', 'loaded'])
      expect(deletesAt(stage), stage).toBe(expectedDeletes.size);
    expect(deletesAt('quarantined')).toBe(0);
  });
});
