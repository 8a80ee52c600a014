/**
 * Runs one scenario on the private stack: a fresh deployment (topics, subjects, consumer groups,
 * database schemas and source ids of this run only), the simulated EHR paced so that data still
 * flows when the fault comes, the four services as child processes, one backfill per site; the
 * scenario's fault once the given share of rows is loaded; then the wait until everything is in,
 * and the invariants: nothing lost, nothing doubled, every job reconciled stage by stage, no
 * canary anywhere. A service that exits without being killed by the scenario is restarted (as an
 * orchestrator would) and counted as a crash, which fails the scenario.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { createCodec, createRegistry, type QuarantineRecord } from '@ehrflow/contracts';
import { Kafka, logLevel, patchKafkaJsRequestQueue, type Admin } from '@ehrflow/kafka';
import { parseKeyring } from '@ehrflow/phi';
import {
  canaryValues,
  createScratch,
  demoCanaries,
  type EhrSetup,
  fetchMetrics,
  FINAL_STATES,
  getJob,
  type JobView,
  leakScanPassed,
  loadOrCreateSecrets,
  pipelineTopics,
  provisionPipeline,
  readTopics,
  reconcileGaps,
  reconcileJobs,
  runLeakScan,
  type Scratch,
  type ServiceHandle,
  type ServiceName,
  SERVICE_NAMES,
  startEhr,
  startJob,
  startPipelineService,
  stageCounts,
  type StageCounts,
  topicEnds,
  type PipelineServicesOptions,
} from '@ehrflow/pipeline-tools';
import { freePort, sleep, waitFor } from '@ehrflow/testing';
import type { FaultsInput } from '@ehrflow/ehr-sim';
import { createFeeds, FEED_SERVICES, type FeedSummary, type Feeds } from './feeds.ts';
import type { PrivateStack } from './private-stack.ts';
import { seededRandom } from './random.ts';
import type {
  FaultContext,
  FaultDurations,
  FaultOutcome,
  FeedService,
  Scenario,
  ScenarioJob,
  SourceTimeouts,
  SuiteService,
} from './scenario.ts';
import { warehouseCounts } from './warehouse.ts';

export interface RunOptions {
  readonly stack: PrivateStack;
  /** Working folder of the suite (logs, secrets, per-scenario files). */
  readonly dir: string;
  readonly sites: number;
  readonly patients: number;
  /** The EHR serves its lines over about this many seconds (so data still flows during faults). */
  readonly paceSeconds: number;
  readonly durations: FaultDurations;
  readonly seed: string;
  /** Bound of one scenario, start to report. */
  readonly timeoutMs: number;
  /** EHR faults active from the start (the randomised mode sets its own in `inject`). */
  readonly ehrFaults?: FaultsInput;
  /** The extractor's job lease (a killed extractor's job is taken over when it expires). */
  readonly leaseMs: number;
  /**
   * The HL7 v2 and billing feeds run beside the FHIR sites (default true), with this many billing
   * drops spread over the pace (default 3).
   */
  readonly feeds?: boolean;
  readonly billingWaves?: number;
  /** Aborted on Ctrl-C: the scenario stops waiting, and everything it started is stopped. */
  readonly signal?: AbortSignal;
  log(line: string): void;
}

/** One row of the report. */
export interface ScenarioRow {
  readonly scenario: string;
  readonly summary: string;
  readonly passed: boolean;
  /** Why the scenario did not run here (then `passed` is true and nothing was measured). */
  readonly skipped: string | null;
  /**
   * Distinct resources the EHR serves for the run's sources, plus the records the feeds' ACKed HL7
   * messages and good billing sets map to (a quarantined message or set counted once).
   */
  readonly recordsIn: number;
  /** Of them, quarantined (drift); expected rows = recordsIn - quarantined. */
  readonly quarantined: number;
  /** Warehouse rows of the FHIR sources plus the feeds' records the loader committed (its ledger). */
  readonly rowsOut: number;
  /** The feeds' own figures (null: no feeds in this run). */
  readonly feeds: FeedSummary | null;
  readonly lost: number;
  readonly duplicatedByRecordId: number;
  readonly duplicatedByKey: number;
  readonly reconciled: boolean;
  /** From the end of the fault until rows load again (null: never, or no fault end). */
  readonly recoveryMs: number | null;
  readonly alerts: number;
  readonly leakHits: number;
  /** Services that exited without being killed (restarted by the runner). */
  readonly crashes: readonly string[];
  readonly jobs: readonly { readonly id: string; readonly state: string; readonly reason: string | null }[];
  readonly durationMs: number;
  readonly notes: readonly string[];
  readonly problems: readonly string[];
}

const POLL_MS = 1_000;

// The suite's own kafkajs clients (admin, topic reads) get the services' fix for kafkajs #1751.
patchKafkaJsRequestQueue();

export async function runScenario(scenario: Scenario, options: RunOptions): Promise<ScenarioRow> {
  const startedAt = Date.now();
  const deadline = startedAt + options.timeoutMs;
  const log = (line: string): void => options.log(`[${scenario.name}] ${line}`);
  const unavailable = (await scenario.unavailable?.()) ?? undefined;
  if (unavailable !== undefined) return skippedRow(scenario, unavailable);

  const runId = randomUUID().slice(0, 8);
  const tag = `f${runId}`;
  const dir = join(options.dir, 'runs', `${scenario.name}-${runId}`);
  const logDir = join(dir, 'logs');
  const metricsDir = join(dir, 'metrics');
  const alertFile = join(dir, 'alerts.jsonl');
  await mkdir(logDir, { recursive: true });
  await mkdir(metricsDir, { recursive: true });
  await writeFile(alertFile, '');

  const secrets = await loadOrCreateSecrets(join(options.dir, 'secrets.env'));
  const env: NodeJS.ProcessEnv = {
    ...withoutStackVariables(process.env),
    ...options.stack.env,
    ...secrets,
    EHRFLOW_MODE: 'development',
    LOG_LEVEL: 'info',
  };
  const topics = pipelineTopics(`${tag}.`);
  const groups = { validator: `${tag}-validator`, redactor: `${tag}-redactor`, loader: `${tag}-loader` };
  const schemas = { extractor: `${tag}_x`, loader: `${tag}_l` };
  const sites = Array.from({ length: options.sites }, (_, i) => `site-${String.fromCharCode(97 + i)}`);
  const canaries = demoCanaries(sites, options.patients);
  const problems: string[] = [];
  const notes: string[] = [];
  const crashes: string[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];
  const random = seededRandom(`${options.seed}\u0000${scenario.name}`);

  const kafka = new Kafka({
    brokers: options.stack.env.KAFKA_BROKERS.split(','),
    clientId: `faults-${runId}`,
    logLevel: logLevel.NOTHING,
    retry: { retries: 3, initialRetryTime: 300, maxRetryTime: 3_000 },
  });
  let admin: Admin = kafka.admin();
  const registry = createRegistry({ url: options.stack.env.SCHEMA_REGISTRY_URL });
  const pool = new pg.Pool({ connectionString: options.stack.env.DATABASE_URL, max: 3 });
  // A pool error (PostgreSQL restarted under an idle client) must not end the suite.
  pool.on('error', () => undefined);
  let scratch: Scratch | undefined;
  let ehr: EhrSetup | undefined;
  const services = new Map<ServiceName, ServiceHandle>();
  const ports = new Map<ServiceName, number>();
  /** Services the scenario killed and has not restarted yet, or that the runner is restarting. */
  const down = new Set<SuiteService>();
  let feeds: Feeds | undefined;
  let feedSummary: FeedSummary | null = null;
  let sourceTimeouts: SourceTimeouts = {};
  let jobs: JobView[] = [];
  let stopping = false;
  let faultEndedAt: number | undefined;
  let recoveryMs: number | null = null;
  let lastLoaded = 0;
  let loadedAtFaultEnd: number | undefined;
  let expected = 0;
  let quarantined = 0;
  let counts: StageCounts | null = null;
  let rewrite: (url: string) => string = (u) => u;

  const serviceOptions = (sourcesFile: string): PipelineServicesOptions => ({
    env,
    topics,
    sourcesFile,
    logDir,
    extractorDbSchema: schemas.extractor,
    loaderDbSchema: schemas.loader,
    groups,
    alertFile,
    readyTimeoutMs: 180_000,
    extraEnv: {
      extractor: { EXTRACTOR_LEASE_MS: String(options.leaseMs) },
      redactor: { REDACTOR_DIRECTORY_KEY_PREFIX: `ehrflow:${tag}:directory:` },
    },
  });
  let sourcesFile = '';
  const startService = async (name: ServiceName): Promise<void> => {
    let port = ports.get(name);
    if (port === undefined) {
      port = await freePort();
      ports.set(name, port);
    }
    const handle = await startPipelineService(name, port, serviceOptions(sourcesFile), (h) =>
      services.set(name, h),
    );
    services.set(name, handle);
  };
  /** A Ctrl-C ends the waits at once (the services got the signal too and are gone). */
  const interrupted = (): boolean => options.signal?.aborted === true;
  const extractorUrl = (): string => `http://127.0.0.1:${String(ports.get('extractor'))}`;
  const refreshJobs = async (): Promise<void> => {
    jobs = await Promise.all(jobs.map((j) => getJob(extractorUrl(), j.id).catch(() => j)));
  };
  const loadedNow = async (): Promise<number> => {
    try {
      return (await warehouseCounts(pool, schemas.loader)).rows;
    } catch {
      return lastLoaded;
    }
  };

  // The watcher: restarts crashed services, samples loaded rows for the recovery time.
  let watcher: Promise<void> = Promise.resolve();
  const watch = async (): Promise<void> => {
    while (!stopping) {
      for (const name of SERVICE_NAMES) {
        const handle = services.get(name);
        // A Ctrl-C reaches the services too (same process group): they drain and exit; no restart.
        if (
          stopping ||
          options.signal?.aborted === true ||
          handle === undefined ||
          down.has(name) ||
          handle.child.running()
        )
          continue;
        const code = await handle.child.exited;
        crashes.push(`${name} exited (${String(code)})`);
        log(`${name} exited by itself (${String(code)}); restarting it`);
        down.add(name);
        try {
          await startService(name);
        } catch {
          problems.push(`${name} could not be restarted after it exited`);
          // As an orchestrator's crash-loop back-off: not a tight loop while a dependency is down.
          await sleep(3_000);
        } finally {
          down.delete(name);
        }
      }
      for (const name of FEED_SERVICES) {
        const child = feeds?.child(name);
        if (
          stopping ||
          options.signal?.aborted === true ||
          child === undefined ||
          down.has(name) ||
          child.running()
        )
          continue;
        crashes.push(`${name} exited (${String(await child.exited)})`);
        log(`${name} exited by itself; restarting it`);
        down.add(name);
        try {
          await feeds?.restart(name);
        } catch {
          problems.push(`${name} could not be restarted after it exited`);
          await sleep(3_000);
        } finally {
          down.delete(name);
        }
      }
      const loaded = await loadedNow();
      if (faultEndedAt !== undefined && recoveryMs === null) {
        loadedAtFaultEnd ??= loaded;
        if (loaded > loadedAtFaultEnd || loaded >= expected)
          recoveryMs = Math.max(0, Date.now() - faultEndedAt);
      }
      lastLoaded = loaded;
      await sleep(500);
    }
  };

  try {
    await withTimeout(admin.connect(), 120_000, 'Kafka admin connect');
    scratch = createScratch(admin, registry);
    // A broker that has just (re)started on a loaded machine may not elect leaders for new topics
    // within the harness's wait: one more try before the scenario counts as failed.
    try {
      await provisionPipeline(scratch, topics, env);
    } catch {
      log('provisioning failed once; retrying');
      await scratch.cleanUp().catch(() => undefined);
      await provisionPipeline(scratch, topics, env);
    }

    ehr = await startEhr({
      seed: options.seed,
      sites,
      patientsPerSite: options.patients,
      canaries,
      faults: options.ehrFaults ?? {},
      enforcedPerMinute: 0,
      publishedPerMinute: 6000,
      tokenLifetimeSeconds: 300,
      sourcePrefix: `${tag}-`,
      dir: join(dir, 'ehr'),
      maxResourcesPerFile: 200,
    });
    expected = [...ehr.expectedPerSource.values()].reduce((a, b) => a + b, 0);
    // Paced so that the extraction lasts about paceSeconds: the faults meet data in flight.
    const linesPerSecond = Math.max(5, Math.ceil(expected / options.paceSeconds));
    ehr.sim.setFaults({ servedLinesPerSecond: linesPerSecond });
    const upstream = new URL(ehr.url);
    log(
      `EHR ${ehr.url}: ${sites.length} site(s) x ${options.patients} patients = ${expected} resources, ` +
        `served at ${linesPerSecond} lines/s`,
    );
    const base = {
      scenario: scenario.name,
      ehr: { host: upstream.hostname, port: Number(upstream.port), url: ehr.url },
      useEhrUrl(fn: (url: string) => string) {
        rewrite = fn;
      },
      useSourceTimeouts(timeouts: SourceTimeouts) {
        sourceTimeouts = timeouts;
      },
      deadline,
      durations: options.durations,
      dir,
      random,
      log,
      onCleanup(fn: () => Promise<void> | void) {
        cleanups.push(fn);
      },
    };
    await scenario.prepare?.(base);
    sourcesFile = await rewriteSources(ehr.sourcesFile, rewrite, sourceTimeouts);

    const baseline = await topicEnds(admin, topics);
    if (options.feeds !== false) {
      feeds = createFeeds({
        env,
        topics: { raw: topics.raw, quarantine: topics.quarantine },
        tag,
        dir,
        logDir,
        alertFile,
        seed: seedNumber(`${options.seed}\u0000${scenario.name}`),
        fhirResources: expected,
        patientsPerSite: options.patients,
        paceMs: options.paceSeconds * 1000,
        deadlineMs: Math.max(60_000, deadline - Date.now() - 120_000),
        billingWaves: options.billingWaves ?? 3,
        log,
      });
      await feeds.start();
    }
    for (const name of ['loader', 'redactor', 'validator', 'extractor'] as const) await startService(name);
    watcher = watch();
    for (const sourceId of ehr.sourceIds.values())
      jobs.push(await startJob(extractorUrl(), { source: sourceId, kind: 'backfill' }));
    feeds?.begin();
    log(`backfills: ${jobs.map((j) => j.id).join(', ')}`);

    const setup = ehr;
    const ctx: FaultContext = {
      ...base,
      feeds: feeds !== undefined,
      async killService(name: SuiteService) {
        if (isFeedService(name)) {
          down.add(name);
          await feeds?.kill(name);
          return;
        }
        const handle = services.get(name);
        if (handle === undefined) return;
        down.add(name);
        if (handle.child.running()) process.kill(handle.child.pid, 'SIGKILL');
        await handle.child.exited;
      },
      async restartService(name: SuiteService) {
        down.add(name);
        try {
          if (isFeedService(name)) await feeds?.restart(name);
          else await startService(name);
        } finally {
          down.delete(name);
        }
      },
      stopDependency: (dep) => options.stack.stop(dep),
      startDependency: (dep) => options.stack.start(dep),
      killDependency: (dep) => options.stack.kill(dep),
      async readiness(name) {
        try {
          const res = await fetch(`http://127.0.0.1:${String(ports.get(name))}/readyz`, {
            signal: AbortSignal.timeout(3_000),
          });
          return { status: res.status, body: await res.text() };
        } catch {
          return { status: 0, body: '' };
        }
      },
      setEhrFaults: (faults) => void setup.sim.setFaults(faults),
      clearEhrFaults: () => {
        setup.sim.clearFaults();
        setup.sim.setFaults({ servedLinesPerSecond: linesPerSecond });
      },
      reinstateEhrClient: (clientId) => setup.reinstate(clientId),
      ehrClients: sites.map((s) => `ehrflow-${s}`),
      sources: [...setup.sourceIds.values()],
      async jobs(): Promise<readonly ScenarioJob[]> {
        await refreshJobs();
        return jobs.map((j) => ({ id: j.id, sourceId: j.sourceId, state: j.state }));
      },
      async startBackfill(sourceId: string) {
        const job = await startJob(extractorUrl(), { source: sourceId, kind: 'backfill' });
        jobs.push(job);
        return { id: job.id, sourceId: job.sourceId, state: job.state };
      },
      async cancelJob(id: string) {
        const res = await fetch(`${extractorUrl()}/jobs/${id}`, {
          method: 'DELETE',
          signal: AbortSignal.timeout(10_000),
        });
        await res.body?.cancel();
        if (res.status >= 300) throw new Error(`DELETE /jobs/${id} answered ${res.status}`);
      },
      async resumeJob(id: string) {
        const res = await fetch(`${extractorUrl()}/jobs/${id}/resume`, {
          method: 'POST',
          signal: AbortSignal.timeout(10_000),
        });
        await res.body?.cancel();
        if (res.status !== 202) throw new Error(`POST /jobs/${id}/resume answered ${res.status}`);
      },
      progress: async () => ({ loaded: await loadedNow(), expected }),
      waitFor: (check, what, timeoutMs) =>
        waitFor(async () => interrupted() || (await check()), {
          timeoutMs: Math.min(timeoutMs, Math.max(1_000, deadline - Date.now())),
          intervalMs: 500,
          what,
        }),
      sleep: (ms) => abortableSleep(ms, options.signal),
    };

    const injectAt = scenario.injectAt ?? 0.15;
    if (injectAt > 0)
      await waitFor(async () => interrupted() || (await loadedNow()) >= Math.floor(expected * injectAt), {
        timeoutMs: Math.max(1_000, deadline - Date.now()),
        intervalMs: 500,
        what: `${Math.round(injectAt * 100)}% of the rows loaded before the fault`,
      });
    if (interrupted()) throw new Error('interrupted');
    log(`injecting at ${lastLoaded}/${expected} rows`);
    const outcome: FaultOutcome = (await scenario.inject(ctx)) ?? {};
    faultEndedAt = outcome.faultEndedAt ?? Date.now();
    notes.push(...(outcome.notes ?? []));

    // Drain: every job final, the stages caught up, and the row count settled.
    let stableSince = Date.now();
    let settled = -1;
    let lastReport = Date.now();
    const retried = new Set<string>();
    for (;;) {
      await refreshJobs();
      try {
        counts = await withTimeout(
          stageCounts({
            admin,
            pool,
            topics,
            baseline,
            loaderSchema: schemas.loader,
            jobIds: [...jobs.map((j) => j.id), ...(feeds?.loadJobIds() ?? [])],
            groups,
          }),
          15_000,
          'stage counts',
        );
      } catch {
        // The admin client may not have survived a broker restart: a fresh one next round.
        await admin.disconnect().catch(() => undefined);
        admin = kafka.admin();
        await admin.connect().catch(() => undefined);
      }
      // A job the EHR left partial (error entries) is closed the way an operator closes it: a
      // retry of its failed types (`POST /jobs/:id/retry-failed`), itself one of the run's jobs.
      if (scenario.acceptsPartial === true) {
        for (const job of jobs.filter((j) => j.state === 'partial' && !retried.has(j.id))) {
          retried.add(job.id);
          try {
            jobs.push(await retryFailed(extractorUrl(), job.id));
            notes.push(`job ${job.id} ended partial (error entries); its failed types were retried`);
          } catch {
            problems.push(`retry-failed of job ${job.id} was refused`);
          }
        }
      }
      const loaded = await loadedNow();
      if (loaded !== settled) {
        settled = loaded;
        stableSince = Date.now();
      }
      const allFinal = jobs.every((j) => FINAL_STATES.has(j.state)) && (feeds?.done() ?? true);
      const caughtUp =
        counts !== null &&
        counts.lag.validator === 0 &&
        counts.lag.redactor === 0 &&
        (counts.lag.loader ?? 0) === 0;
      // Every job final and every group caught up (the loader by its stored positions): rows can
      // stay below `expectedNow` for good only by quarantine or, with the feeds, by HL7 records
      // sharing a warehouse key (an upsert); the settled count then ends the wait and the ledger
      // decides. A loader still re-joining its group after a broker restart has lag, so it is
      // waited for (kafkajs' rebalance can take 60 s), bounded by the scenario's deadline.
      const expectedNow = expected + (feeds?.done() === true ? feeds.expectation().rows : 0);
      if (
        allFinal &&
        caughtUp &&
        (loaded >= expectedNow || Date.now() - stableSince >= 20_000) &&
        Date.now() - stableSince >= 2_000
      )
        break;
      if (options.signal?.aborted === true) {
        problems.push('interrupted');
        break;
      }
      if (Date.now() > deadline) {
        problems.push(
          `timed out after ${Math.round(options.timeoutMs / 1000)} s waiting for the pipeline to drain`,
        );
        problems.push(`where it stopped: ${whereItStands(jobs, counts, loaded, expectedNow)}`);
        if (feeds?.done() === false) problems.push('the feeds had not finished sending');
        break;
      }
      if (Date.now() - lastReport >= 30_000) {
        lastReport = Date.now();
        log(
          `draining: ${whereItStands(jobs, counts, loaded, expectedNow)}${feeds?.done() === false ? '; feeds sending' : ''}`,
        );
      }
      await sleep(POLL_MS);
    }
    // Request retries and resumed downloads: the evidence that timeouts and resets were met and ridden out.
    notes.push(
      `extractor: ${jobs.reduce((n, j) => n + (j.counts?.retries ?? 0), 0)} request retries / resumed downloads over ${jobs.length} job(s)`,
    );
    for (const j of jobs)
      if (j.state !== 'completed' && !(j.state === 'partial' && scenario.acceptsPartial === true))
        problems.push(`job ${j.id} ended ${j.state}${j.reason ? ` (${j.reason})` : ''}`);
    for (const handle of services.values())
      await writeFile(join(metricsDir, `${handle.name}.prom`), await fetchMetrics(handle));
  } catch (err) {
    problems.push(err instanceof Error ? (err.message.split('\n')[0] ?? 'failed') : 'failed');
  } finally {
    stopping = true;
    await watcher.catch(() => undefined);
    for (const name of SERVICE_NAMES) await services.get(name)?.child.stop(20_000);
    await feeds?.stop().catch(() => undefined);
    for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch(() => undefined);
    await ehr?.stop().catch(() => undefined);
  }

  // The invariants, on a stack that is whole again (a scenario that failed mid-way may not have restored it).
  await restoreStack(options.stack, log);
  if (options.signal?.aborted === true) {
    // Ctrl-C: everything this scenario started is stopped; no reconciliation or leak scan.
    await scratch?.cleanUp().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await registry.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
    return { ...skippedRow(scenario, 'interrupted'), passed: false, problems: ['interrupted'] };
  }
  const jobIds = jobs.map((j) => j.id);
  let reconciled = false;
  if (jobIds.length > 0) {
    const results = await reconcileJobs(
      [...jobIds, ...(feeds?.jobIds() ?? [])],
      env,
      schemas.loader,
      problems,
      `${tag}.`,
    );
    reconciled = jobIds.every((id) => results.get(id)?.reconciled === true);
    if (!reconciled) problems.push('a job does not reconcile stage by stage (loader reconcile)');
    // The backfills' gaps here; the feeds' jobs (an MLLP job, one per billing file, refused files
    // without a job event by design) are judged by `feeds.check`.
    for (const id of jobIds) {
      const result = results.get(id);
      if (result !== undefined && result.reconciled !== true)
        problems.push(`job ${id} not reconciled: ${reconcileGaps(result)}`);
    }
    if (feeds !== undefined) {
      feedSummary = feeds.check(results, problems);
      reconciled &&= feedSummary.reconciled;
    }
  }
  const fhirSources = new Set(ehr?.sourceIds.values() ?? []);
  const quarantinedIds = new Set<string>();
  try {
    const codec = createCodec(registry);
    await readTopics(kafka, { topics: [topics.quarantine], timeoutMs: 60_000 }, async (r) => {
      if (r.value === null) return;
      const { value } = await codec.decode(r.value);
      const record = value as QuarantineRecord;
      // The feeds' quarantine (drift switches, refused files) reconciles with the feeds.
      if (fhirSources.has(record.sourceId)) quarantinedIds.add(record.recordId);
    });
  } catch {
    problems.push('could not read the quarantine topic');
  }
  quarantined = quarantinedIds.size;
  let wh = { rows: 0, duplicatedByRecordId: 0, duplicatedByKey: 0, byTable: {} };
  let feedWh = { rows: 0, duplicatedByRecordId: 0, duplicatedByKey: 0, byTable: {} };
  try {
    wh = await warehouseCounts(pool, schemas.loader, [...fhirSources]);
    if (feeds !== undefined)
      feedWh = await warehouseCounts(pool, schemas.loader, [feeds.hl7SourceId, feeds.billingSourceId]);
  } catch {
    problems.push('could not count the warehouse rows');
  }
  const expectedRows = expected - quarantined;
  let lost = Math.max(0, expectedRows - (wh.rows - wh.duplicatedByKey));
  if (wh.rows - wh.duplicatedByKey > expectedRows)
    problems.push(`${wh.rows - wh.duplicatedByKey - expectedRows} rows more than the EHR served`);
  const feedExpected = feeds?.expectation() ?? { recordsIn: 0, quarantined: 0, rows: 0 };
  const feedLoaded = (feedSummary?.hl7?.loadedRecords ?? 0) + (feedSummary?.billing?.loadedRecords ?? 0);
  lost += Math.max(0, feedExpected.rows - feedLoaded);
  const alerts = (await readFile(alertFile, 'utf8').catch(() => ''))
    .split('\n')
    .filter((l) => l.trim() !== '').length;

  let leakHits = -1;
  try {
    const leak = await runLeakScan({
      canaries: [...canaryValues(canaries), ...(feeds?.canaries() ?? [])],
      logPaths: [logDir],
      alertPaths: [alertFile],
      metricsFiles: [metricsDir],
      kafka: {
        brokers: options.stack.env.KAFKA_BROKERS,
        registryUrl: options.stack.env.SCHEMA_REGISTRY_URL,
        sinceMs: startedAt,
        timeoutMs: 120_000,
      },
      redis: { url: options.stack.env.REDIS_URL, pattern: 'ehrflow:*' },
      postgres: { url: options.stack.env.DATABASE_URL, schemas: [schemas.loader, schemas.extractor] },
      keyring: parseKeyring(secrets.PHI_KEYRING),
    });
    leakHits = leak.hits.reduce((s, h) => s + h.count, 0);
    if (!leakScanPassed(leak)) problems.push('the leak scan did not pass');
  } catch {
    problems.push('the leak scan could not run');
  }
  await scratch?.cleanUp().catch(() => undefined);
  await admin.disconnect().catch(() => undefined);
  await registry.close().catch(() => undefined);
  await pool.end().catch(() => undefined);

  const passed =
    problems.length === 0 &&
    crashes.length === 0 &&
    lost === 0 &&
    wh.duplicatedByKey + feedWh.duplicatedByKey === 0 &&
    wh.duplicatedByRecordId + feedWh.duplicatedByRecordId === 0 &&
    reconciled &&
    leakHits === 0;
  return {
    scenario: scenario.name,
    summary: scenario.summary,
    passed,
    skipped: null,
    recordsIn: expected + feedExpected.recordsIn,
    quarantined: quarantined + feedExpected.quarantined,
    rowsOut: wh.rows + feedLoaded,
    feeds: feedSummary,
    lost,
    duplicatedByRecordId: wh.duplicatedByRecordId + feedWh.duplicatedByRecordId,
    duplicatedByKey: wh.duplicatedByKey + feedWh.duplicatedByKey,
    reconciled,
    recoveryMs,
    alerts,
    leakHits,
    crashes,
    jobs: jobs.map((j) => ({ id: j.id, state: j.state, reason: j.reason })),
    durationMs: Date.now() - startedAt,
    notes,
    problems,
  };
}

/** `POST /jobs/:id/retry-failed`: a new job exporting the types a partial job could not get. */
async function retryFailed(extractorUrl: string, id: string): Promise<JobView> {
  const res = await fetch(`${extractorUrl}/jobs/${id}/retry-failed`, {
    method: 'POST',
    signal: AbortSignal.timeout(10_000),
  });
  if (res.status !== 202) {
    await res.body?.cancel();
    throw new Error(`POST /jobs/${id}/retry-failed answered ${res.status}`);
  }
  return (await res.json()) as JobView;
}

/** Job states, stage counts and rows (counts and ids only): where a drain stands. */
function whereItStands(
  jobs: readonly JobView[],
  counts: StageCounts | null,
  loaded: number,
  expected: number,
): string {
  const jobText = jobs
    .map((j) => `${j.id.slice(0, 8)} ${j.state} read ${j.counts.read} produced ${j.counts.produced}`)
    .join(', ');
  const stages =
    counts === null
      ? 'no stage counts'
      : `raw ${counts.raw}, valid ${counts.valid}, quarantined ${counts.quarantined}, clean ${counts.clean}; ` +
        `lag validator ${counts.lag.validator}, redactor ${counts.lag.redactor}, loader ${counts.lag.loader ?? '-'}`;
  return `jobs ${jobText}; ${stages}; rows ${loaded}/${expected}`;
}

function skippedRow(scenario: Scenario, why: string): ScenarioRow {
  return {
    scenario: scenario.name,
    summary: scenario.summary,
    passed: true,
    skipped: why,
    recordsIn: 0,
    quarantined: 0,
    rowsOut: 0,
    feeds: null,
    lost: 0,
    duplicatedByRecordId: 0,
    duplicatedByKey: 0,
    reconciled: false,
    recoveryMs: null,
    alerts: 0,
    leakHits: 0,
    crashes: [],
    jobs: [],
    durationMs: 0,
    notes: [],
    problems: [],
  };
}

/** Starts whatever component of the private stack is down (a scenario that failed mid-way). */
async function restoreStack(stack: PrivateStack, log: (line: string) => void): Promise<void> {
  const status = await stack.status();
  for (const dep of ['postgres', 'redis', 'kafka', 'registry'] as const) {
    if (status[dep]) continue;
    log(`${dep} was left down; starting it`);
    await stack.start(dep).catch(() => log(`${dep} could not be started`));
  }
}

/**
 * The environment without any other stack's connection settings (the shared stack's TLS, SASL or
 * CA variables of a developer's shell would point the services at the wrong servers).
 */
function withoutStackVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(env).filter(([k]) => !/^(KAFKA_|SCHEMA_REGISTRY_|REDIS_|PG_|DATABASE_URL)/.test(k)),
  );
}

/**
 * Writes the sources file with every base and token URL passed through `rewrite` and the given
 * HTTP timeouts set on every source; returns its path.
 */
export async function rewriteSources(
  file: string,
  rewrite: (url: string) => string,
  timeouts: SourceTimeouts,
): Promise<string> {
  const parsed = JSON.parse(await readFile(file, 'utf8')) as { sources: Record<string, unknown>[] };
  for (const source of parsed.sources) {
    Object.assign(source, timeouts);
    for (const key of ['baseUrl', 'tokenUrl'] as const) {
      const value = source[key];
      if (typeof value === 'string') source[key] = rewrite(value);
    }
  }
  await writeFile(file, `${JSON.stringify(parsed, null, 2)}\n`, { mode: 0o600 });
  return file;
}

/** Sleeps `ms`, or less when `signal` aborts (a Ctrl-C must not wait out a fault's pause). */
function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return sleep(ms);
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function isFeedService(name: SuiteService): name is FeedService {
  return (FEED_SERVICES as readonly string[]).includes(name);
}

/** A number from a seed text (the feeds' senders and files). */
function seedNumber(seed: string): number {
  let n = 0;
  for (const ch of seed) n = (n * 31 + ch.charCodeAt(0)) >>> 0;
  return n % 1_000_000;
}
