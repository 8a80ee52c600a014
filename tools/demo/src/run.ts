import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { createCodec, createRegistry } from '@ehrflow/contracts';
import { patchKafkaJsRequestQueue } from '@ehrflow/kafka';
import type { FaultsInput } from '@ehrflow/ehr-sim';
import { parseKeyring } from '@ehrflow/phi';
import {
  type EhrSetup,
  fetchMetrics,
  FINAL_STATES,
  getJob,
  type JobView,
  type LeakReport,
  leakScanPassed,
  loadOrCreateSecrets,
  pipelineTopics,
  reconcileCli,
  runLeakScan,
  type ServiceHandle,
  type ServiceName,
  stageCounts,
  type StageCounts,
  startEhr,
  startJob,
  startPipelineServices,
  stopPipelineServices,
  sumMetric,
  topicEnds,
} from '@ehrflow/pipeline-tools';
import { REPO_ROOT, sleep, stackEnv } from '@ehrflow/testing';
import type { DemoArgs } from './args.ts';
import { canaryLabels, canaryValues, demoCanaries } from './canaries.ts';
import { progressLine } from './progress.ts';
import { sourceRates, type SourceRate } from './rates.ts';
import { readRunEvents, type RunEvents } from './topic-events.ts';

// The demo's own kafkajs clients (admin, topic reads) get the services' fix for kafkajs #1751.
patchKafkaJsRequestQueue();

/** One job's reconciliation as the loader's `reconcile --json` prints it. */
export interface JobReconciliation {
  readonly jobId: string;
  readonly sourceId: string;
  readonly reconciled: boolean;
  readonly result: unknown;
}

/** The demo's report; `reconciled`, `leakScanHits` and `loaded` are the contract of `--report`. */
export interface DemoReport {
  readonly reconciled: boolean;
  readonly leakScanHits: number;
  readonly loaded: number;
  /** Resources the simulator serves minus quarantined records of the run. */
  readonly expectedLoaded: number;
  readonly served: number;
  readonly quarantined: number;
  readonly passed: boolean;
  readonly runId: string;
  readonly sites: number;
  readonly patientsPerSite: number;
  readonly faults: boolean;
  readonly durationMs: number;
  readonly loadedPerSecond: number;
  readonly jobs: readonly JobView[];
  readonly reconciliation: readonly JobReconciliation[];
  readonly counts: StageCounts | null;
  readonly extractor: {
    readonly retries: number;
    readonly throttled: number;
    readonly tokenRefreshes: number;
  };
  /** Per source: published, configured and finally granted rate, requests and 429s. */
  readonly rates: readonly SourceRate[];
  readonly simulator: Record<string, unknown>;
  readonly events: RunEvents | null;
  readonly serviceMetrics: Readonly<Record<string, Record<string, number>>>;
  readonly leakScan: LeakReport | null;
  readonly canaryLabels: readonly string[];
  /** What went wrong along the way (PHI-free). */
  readonly problems: readonly string[];
}

export interface DemoIo {
  /** A progress line (rewritten in place on a terminal). */
  progress(line: string): void;
  /** A log line. */
  say(line: string): void;
}

const POLL_MS = 1_000;
/**
 * Requests per minute the simulated gateway admits per client with faults on, against 60
 * published: a site's backfill sends at least 23 requests within its first minute (kick-off, a
 * status poll, one download per contracted resource type — 20 of them —, the final DELETE), so
 * each site meets 429s. It was 8 when there were seven types; with twenty, 8 a minute made the
 * small demo spend four minutes waiting on the gateway.
 */
const ENFORCED_PER_MINUTE = 20;
const PUBLISHED_PER_MINUTE = 60;

/**
 * Runs the demo: simulator with faults, the four services, one backfill per site, progress until
 * every record is accounted for, then reconciliation, counters, drift and quarantine, and the leak
 * scan. Services and the simulator are stopped whatever happens.
 */
export async function runDemo(args: DemoArgs, io: DemoIo): Promise<DemoReport> {
  const runId = randomUUID().slice(0, 8);
  const demoDir = join(REPO_ROOT, '.run', 'demo');
  const logDir = join(demoDir, 'logs');
  const metricsDir = join(demoDir, 'metrics');
  const alertFile = join(demoDir, 'alerts.jsonl');
  // Only this run's outputs are scanned: earlier logs, metrics and alerts are removed.
  await rm(logDir, { recursive: true, force: true });
  await rm(metricsDir, { recursive: true, force: true });
  await rm(alertFile, { force: true });
  await mkdir(logDir, { recursive: true });
  await mkdir(metricsDir, { recursive: true });
  await writeFile(alertFile, '');

  const secrets = await loadOrCreateSecrets(join(demoDir, 'secrets.env'));
  const env: NodeJS.ProcessEnv = {
    ...stackEnv(),
    ...secrets,
    EHRFLOW_MODE: 'development',
    LOG_LEVEL: 'info',
  };
  const topics = pipelineTopics('ehr.');
  const groups = { validator: 'ehrflow-validator', redactor: 'ehrflow-redactor' };
  const loaderSchema = 'clean';
  const sites = Array.from({ length: args.sites }, (_, i) => `site-${String.fromCharCode(97 + i)}`);
  const canaries = demoCanaries(sites, args.patients);
  const problems: string[] = [];

  const kafka = new Kafka({
    brokers: (env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    clientId: `demo-${runId}`,
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  const registry = createRegistry({ url: env.SCHEMA_REGISTRY_URL ?? '' });
  const codec = createCodec(registry);
  const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });

  let ehr: EhrSetup | undefined;
  let services = new Map<ServiceName, ServiceHandle>();
  const startedAt = Date.now();
  let finishedAt = startedAt;
  let jobs: JobView[] = [];
  let counts: StageCounts | null = null;
  const serviceMetrics: Record<string, Record<string, number>> = {};
  let rates: SourceRate[] = [];
  try {
    for (const type of ['Patient', 'Observation']) {
      try {
        await codec.latestVersion(`${topics.cleanPrefix}${type}-value`);
      } catch {
        throw new Error(
          `the clean schemas are not registered; run: node services/redactor/src/cli.ts register-schemas`,
        );
      }
    }
    ehr = await startEhr({
      seed: args.seed,
      sites,
      patientsPerSite: args.patients,
      canaries,
      faults: args.faults ? productionFaults(args.patients * args.sites) : {},
      enforcedPerMinute: args.faults ? ENFORCED_PER_MINUTE : 0,
      publishedPerMinute: args.faults ? PUBLISHED_PER_MINUTE : 6000,
      tokenLifetimeSeconds: args.faults ? 5 : 300,
      sourcePrefix: `demo-${runId}-`,
      dir: join(demoDir, `ehr-${runId}`),
    });
    const expectedServed = [...ehr.expectedPerSource.values()].reduce((a, b) => a + b, 0);
    io.say(
      `simulated EHR at ${ehr.url}: ${sites.length} sites x ${args.patients} patients = ${expectedServed} resources; ` +
        `faults ${args.faults ? `on (enforced ${ENFORCED_PER_MINUTE} req/min per client vs 60 published, 5 s tokens, resets, Patient drift)` : 'off'}`,
    );

    const baseline = await topicEnds(admin, topics);
    services = await startPipelineServices({
      env,
      topics,
      sourcesFile: ehr.sourcesFile,
      logDir,
      extractorDbSchema: 'extractor',
      loaderDbSchema: loaderSchema,
      groups,
      alertFile,
    });
    io.say(
      `services ready: ${[...services.values()].map((s) => `${s.name} ${s.url} (pid ${s.child.pid})`).join(', ')}`,
    );

    const extractor = services.get('extractor') as ServiceHandle;
    const runStartedAt = Date.now();
    for (const sourceId of ehr.sourceIds.values())
      jobs.push(await startJob(extractor.url, { source: sourceId, kind: 'backfill' }));
    io.say(`backfill jobs: ${jobs.map((j) => `${j.sourceId} ${j.id}`).join(', ')}`);

    const deadline = Date.now() + args.timeoutSeconds * 1000;
    let stableSince = 0;
    let lastLoaded = -1;
    for (;;) {
      jobs = await Promise.all(jobs.map((j) => getJob(extractor.url, j.id)));
      counts = await stageCounts({
        admin,
        pool,
        topics,
        baseline,
        loaderSchema,
        jobIds: jobs.map((j) => j.id),
        groups,
      });
      const sum = (f: (j: JobView) => number): number => jobs.reduce((s, j) => s + f(j), 0);
      io.progress(
        progressLine({
          elapsedMs: Date.now() - runStartedAt,
          expected: expectedServed,
          read: sum((j) => j.counts.read),
          counts,
          jobsDone: jobs.filter((j) => FINAL_STATES.has(j.state)).length,
          jobs: jobs.length,
          throttled: sum((j) => j.counts.throttled),
          tokenRefreshes: sum((j) => j.counts.tokenRefreshes),
        }),
      );
      const dead = [...services.values()].find((s) => !s.child.running());
      if (dead !== undefined) {
        problems.push(
          `${dead.name} exited (code ${String(await dead.child.exited)}); see ${join(logDir, `${dead.name}.log`)}`,
        );
        break;
      }
      const allFinal = jobs.every((j) => FINAL_STATES.has(j.state));
      const drained =
        allFinal && counts.lag.validator === 0 && counts.lag.redactor === 0 && counts.loaded >= counts.clean;
      if (counts.loaded !== lastLoaded) {
        lastLoaded = counts.loaded;
        stableSince = Date.now();
      }
      // Done when everything upstream is drained and the row count has settled for a moment.
      if (drained && Date.now() - stableSince >= 2_000) break;
      if (allFinal && jobs.some((j) => j.state !== 'completed')) {
        problems.push(
          `job(s) ended ${jobs.map((j) => `${j.sourceId} ${j.state}${j.reason ? ` (${j.reason})` : ''}`).join(', ')}`,
        );
        if (counts.lag.validator === 0 && counts.lag.redactor === 0 && Date.now() - stableSince >= 5_000)
          break;
      }
      if (Date.now() > deadline) {
        problems.push(`timed out after ${args.timeoutSeconds} s waiting for the pipeline to drain`);
        problems.push(`where it stopped: ${stallSnapshot(jobs, counts)}`);
        break;
      }
      await sleep(POLL_MS);
    }
    finishedAt = Date.now();
    io.progress('');

    for (const handle of services.values()) {
      const text = await fetchMetrics(handle);
      await writeFile(join(metricsDir, `${handle.name}.prom`), text);
      serviceMetrics[handle.name] = pickMetrics(text);
      if (handle.name === 'extractor') {
        rates = sourceRates(
          text,
          [...(ehr?.sourceIds.values() ?? [])],
          args.faults ? PUBLISHED_PER_MINUTE : 6000,
        );
      }
    }
  } catch (err) {
    problems.push(err instanceof Error ? (err.message.split('\n')[0] ?? 'failed') : 'failed');
  } finally {
    await stopPipelineServices(services);
    await ehr?.stop();
  }

  const sourceIds = new Set(ehr?.sourceIds.values() ?? []);
  const reconciliation: JobReconciliation[] = [];
  if (jobs.length > 0) io.say(`reconciling ${jobs.length} job(s) stage by stage…`);
  for (const job of jobs) {
    reconciliation.push(await reconcileJob(job, env, loaderSchema, problems));
  }
  let events: RunEvents | null = null;
  try {
    events = await readRunEvents(kafka, codec, topics, sourceIds, startedAt);
  } catch {
    problems.push('could not read drift and quarantine topics');
  }
  let leakScan: LeakReport | null = null;
  io.say('leak scan: every log, alert, metric, topic record, Redis key and clean row of this run…');
  try {
    leakScan = await runLeakScan({
      canaries: canaryValues(canaries),
      logPaths: [logDir],
      alertPaths: [alertFile],
      metricsFiles: [metricsDir],
      kafka: {
        brokers: env.KAFKA_BROKERS ?? '',
        registryUrl: env.SCHEMA_REGISTRY_URL ?? '',
        sinceMs: startedAt,
        timeoutMs: 180_000,
      },
      redis: { url: env.REDIS_URL ?? '', pattern: 'ehrflow:*' },
      postgres: { url: env.DATABASE_URL ?? '', schemas: [loaderSchema, 'extractor'] },
      keyring: parseKeyring(secrets.PHI_KEYRING),
    });
  } catch {
    problems.push('the leak scan could not run');
  }
  await admin.disconnect().catch(() => undefined);
  await registry.close().catch(() => undefined);
  await pool.end().catch(() => undefined);

  const served = [...(ehr?.expectedPerSource.values() ?? [])].reduce((a, b) => a + b, 0);
  const quarantined = events?.quarantinedRecords ?? 0;
  const loaded = counts?.loaded ?? 0;
  const expectedLoaded = served - quarantined;
  const reconciled =
    reconciliation.length > 0 &&
    reconciliation.every((r) => r.reconciled) &&
    loaded === expectedLoaded &&
    jobs.every((j) => j.state === 'completed');
  if (loaded !== expectedLoaded)
    problems.push(
      `loaded ${loaded} rows, expected ${expectedLoaded} (served ${served} - quarantined ${quarantined})`,
    );
  const leakScanHits = leakScan === null ? Number.NaN : leakScan.hits.reduce((s, h) => s + h.count, 0);
  const leakOk = leakScan !== null && leakScanPassed(leakScan);
  const durationMs = finishedAt - startedAt;
  const sum = (f: (j: JobView) => number): number => jobs.reduce((s, j) => s + f(j), 0);
  return {
    reconciled,
    leakScanHits: Number.isNaN(leakScanHits) ? -1 : leakScanHits,
    loaded,
    expectedLoaded,
    served,
    quarantined,
    passed: reconciled && leakOk,
    runId,
    sites: args.sites,
    patientsPerSite: args.patients,
    faults: args.faults,
    durationMs,
    loadedPerSecond: durationMs > 0 ? Math.round((loaded * 1000) / durationMs) : 0,
    jobs,
    reconciliation,
    counts,
    extractor: {
      retries: sum((j) => j.counts.retries),
      throttled: sum((j) => j.counts.throttled),
      tokenRefreshes: sum((j) => j.counts.tokenRefreshes),
    },
    rates,
    simulator: ehr ? { ...ehr.sim.counters(), clients: undefined } : {},
    events,
    serviceMetrics,
    leakScan,
    canaryLabels: canaryLabels(canaries),
    problems,
  };
}

/** Where each stage stood when the demo gave up (counts and states only, no record data). */
export function stallSnapshot(jobs: readonly JobView[], counts: StageCounts | null): string {
  const jobText = jobs
    .map(
      (j) =>
        `${j.sourceId} ${j.state} read ${j.counts.read} produced ${j.counts.produced} parts ${j.parts.done}/${j.parts.total} ` +
        `retries ${j.counts.retries} throttled ${j.counts.throttled} token refreshes ${j.counts.tokenRefreshes}`,
    )
    .join('; ');
  const stageText =
    counts === null
      ? 'no stage counts'
      : `raw ${counts.raw}, valid ${counts.valid}, quarantined ${counts.quarantined}, clean ${counts.clean}, ` +
        `loaded ${counts.loaded}; lag validator ${counts.lag.validator}, redactor ${counts.lag.redactor}`;
  return `jobs: ${jobText}; stages: ${stageText}`;
}

/** Faults of a bad production day; the drift starts after 70% of all Patient records were served. */
export function productionFaults(totalPatients: number): FaultsInput {
  return {
    resetProbability: 0.1,
    drift: {
      resourceType: 'Patient',
      after: Math.floor(totalPatients * 0.7),
      mode: 'rename',
      field: 'birthDate',
      to: 'dateOfBirth',
    },
  };
}

async function reconcileJob(
  job: JobView,
  env: NodeJS.ProcessEnv,
  schema: string,
  problems: string[],
): Promise<JobReconciliation> {
  try {
    return parseReconcile(job, await reconcileCli({ jobIds: [job.id], env, dbSchema: schema }));
  } catch {
    problems.push(`reconcile of job ${job.id} failed to run`);
    return { jobId: job.id, sourceId: job.sourceId, reconciled: false, result: null };
  }
}

function parseReconcile(job: JobView, stdout: string): JobReconciliation {
  const result = JSON.parse(stdout) as { reconciled?: unknown };
  return { jobId: job.id, sourceId: job.sourceId, reconciled: result.reconciled === true, result };
}

/** The counters the report shows from a service's /metrics (label sets summed). */
function pickMetrics(text: string): Record<string, number> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*?)(_total)?(\{|\s)/.exec(line);
    if (m?.[1] !== undefined && m[2] === '_total') names.add(`${m[1]}_total`);
  }
  const out: Record<string, number> = {};
  for (const name of [...names].sort()) out[name] = sumMetric(text, name);
  return out;
}
