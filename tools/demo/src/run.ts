import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, logLevel, patchKafkaJsRequestQueue } from '@ehrflow/kafka';
import pg from 'pg';
import { createCodec, createRegistry } from '@ehrflow/contracts';
import { billingTotals, type MessageCounts, type ReconcileResult } from '@ehrflow/loader';
import type { FaultsInput } from '@ehrflow/ehr-sim';
import { parseKeyring } from '@ehrflow/phi';
import {
  canaryLabels,
  canaryValues,
  demoCanaries,
  type EhrSetup,
  fetchMetrics,
  FINAL_STATES,
  getJob,
  type JobView,
  type LeakReport,
  leakScanPassed,
  loadOrCreateSecrets,
  pipelineTopics,
  reconcileJobs,
  type ReconcileJson,
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
  loadedRows,
  billingCanaryLabels,
  billingCanaryValues,
  billingReconciliation,
  countAcks,
  dropBillingFiles,
  startBillingReceiver,
  type BillingDemoReport,
  type BillingDrop,
  type BillingReceiver,
  hl7CanaryLabels,
  hl7CanaryValues,
  hl7Plan,
  receiverCounts,
  runHl7Feed,
  startHl7Receiver,
  type Hl7FeedResult,
  type Hl7Receiver,
} from '@ehrflow/pipeline-tools';
import { REPO_ROOT, sleep, stackEnv } from '@ehrflow/testing';
import type { DemoArgs } from './args.ts';
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

/**
 * The HL7 v2 feed's reconciliation: received (the receiver's count of messages written) = ACKed
 * (what the senders saw accepted) = raw = valid + quarantined = clean = loaded, in messages; the
 * records they map to are carried through (valid = clean = loaded records).
 */
export interface Hl7DemoReport {
  readonly sourceId: string;
  readonly jobId: string;
  readonly feed: Hl7FeedResult | null;
  readonly received: number;
  /** Resends the receiver answered again without writing. */
  readonly duplicates: number;
  /** `incomplete`: messages with only some of their records on the valid topics (0 when reconciled). */
  readonly messages: MessageCounts | null;
  readonly records: { readonly valid: number; readonly clean: number; readonly loaded: number } | null;
  readonly reconciled: boolean;
  /** The loader's `reconcile --json` result of the feed's job. */
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
  /** The HL7 v2 feed beside the FHIR sites (null when it could not start). */
  readonly hl7: Hl7DemoReport | null;
  /** The X12 billing feed beside them (null when it could not start). */
  readonly billing: BillingDemoReport | null;
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
  const hl7SourceId = `demo-${runId}-hl7`;
  let hl7Receiver: Hl7Receiver | undefined;
  let hl7Starting: Promise<Hl7Receiver> | undefined;
  let hl7Feed: Hl7FeedResult | null = null;
  let hl7FeedDone = false;
  let hl7Metrics = '';
  const billingSourceId = `demo-${runId}-x12`;
  let billingReceiver: BillingReceiver | undefined;
  let billingStarting: Promise<BillingReceiver> | undefined;
  let billingDrop: BillingDrop | null = null;
  let billingMetrics = '';
  let fhirLoaded = 0;
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
    hl7Starting = startHl7Receiver({
      env,
      sourceId: hl7SourceId,
      topics: { raw: topics.raw, quarantine: topics.quarantine },
      logDir,
      alertFile,
      transactionalId: `demo-${runId}-mllp`,
    });
    // Settled here so a failed start is reported below, not as an unhandled rejection.
    hl7Starting.catch(() => undefined);
    billingStarting = startBillingReceiver({
      env,
      sourceId: billingSourceId,
      topics: { raw: topics.raw, quarantine: topics.quarantine },
      dir: join(demoDir, `x12-${runId}`),
      logDir,
      alertFile,
      transactionalId: `demo-${runId}-x12`,
    });
    billingStarting.catch(() => undefined);
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

    hl7Receiver = await hl7Starting;
    const plan = hl7Plan(args.patients);
    io.say(
      `HL7 v2 feed: mllp-receiver on port ${hl7Receiver.port} (pid ${hl7Receiver.child.pid}); 3 senders x ${plan.perSender} ADT/ORU ` +
        `(early resends; a drift switch at message ${plan.driftFrom} of one lab; a second facility), one complete and one lying batch`,
    );
    const feedRun = runHl7Feed(hl7Receiver.port, plan, seedNumber(args.seed))
      .then((r) => {
        hl7Feed = r;
      })
      .catch(() => problems.push('the HL7 feed failed to run'))
      .finally(() => {
        hl7FeedDone = true;
      });
    billingReceiver = await billingStarting;
    io.say(
      `X12 billing feed: billing-receiver (pid ${billingReceiver.child.pid}) on a watched folder; files are dropped once the ` +
        `backfills have met the gateway's rate limit (a 429), or a minute in`,
    );
    let billingJobs: readonly string[] = [];

    const extractor = services.get('extractor') as ServiceHandle;
    const runStartedAt = Date.now();
    for (const sourceId of ehr.sourceIds.values())
      jobs.push(await startJob(extractor.url, { source: sourceId, kind: 'backfill' }));
    io.say(`backfill jobs: ${jobs.map((j) => `${j.sourceId} ${j.id}`).join(', ')}`);

    const deadline = Date.now() + args.timeoutSeconds * 1000;
    let stableSince = 0;
    let lastLoaded = -1;
    let hl7Loaded = -1;
    let hl7Rows = 0;
    let hl7StableSince = Date.now();
    let billingLoaded = -1;
    let billingRows = 0;
    let billingStableSince = Date.now();
    for (;;) {
      jobs = await Promise.all(jobs.map((j) => getJob(extractor.url, j.id)));
      // The billing drop waits until the backfills have met the gateway's limit (a 429, which the
      // report shows), so the receiver's work cannot keep a site under that limit on a small
      // machine; at the latest a minute in.
      if (
        billingDrop === null &&
        (jobs.some((j) => j.counts.throttled > 0) ||
          jobs.every((j) => FINAL_STATES.has(j.state)) ||
          Date.now() - runStartedAt >= 60_000)
      ) {
        billingDrop = await dropBillingFiles(billingReceiver, args.patients, seedNumber(args.seed));
        billingJobs = billingDrop.acceptedJobs;
        billingStableSince = Date.now();
        io.say(
          `X12 billing feed: ${billingDrop.files} files dropped: ${billingDrop.acceptedJobs.length} good (837P with dependents, ` +
            `837I, 835; odd delimiters; a drift switch) holding ${billingDrop.setsIn} transaction sets, ` +
            `${billingDrop.refused.length} faulty (cut, SE/GE/IEA counts, SE02), one resent interchange`,
        );
      }
      counts = await stageCounts({
        admin,
        pool,
        topics,
        baseline,
        loaderSchema,
        // The feed's rows too: its clean records are in the clean topics' counts.
        jobIds: [...jobs.map((j) => j.id), hl7Receiver.jobId, ...billingJobs],
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
      if (!hl7Receiver.child.running()) {
        problems.push(`mllp-receiver exited; see ${join(logDir, 'mllp-receiver.log')}`);
        break;
      }
      if (!billingReceiver.child.running()) {
        problems.push(`billing-receiver exited; see ${join(logDir, 'billing-receiver.log')}`);
        break;
      }
      const dead = [...services.values()].find((s) => !s.child.running());
      if (dead !== undefined) {
        problems.push(
          `${dead.name} exited (code ${String(await dead.child.exited)}); see ${join(logDir, `${dead.name}.log`)}`,
        );
        break;
      }
      const allFinal = jobs.every((j) => FINAL_STATES.has(j.state));
      const nowLoaded = await ledgerCount(pool, loaderSchema, [hl7Receiver.jobId]);
      hl7Rows = await loadedRows(pool, loaderSchema, [hl7Receiver.jobId]);
      if (nowLoaded !== hl7Loaded) {
        hl7Loaded = nowLoaded;
        hl7StableSince = Date.now();
      }
      // The feed is in when the senders are done and what the mapping makes of the ACKed messages
      // is loaded; a shortfall that stops moving ends the wait (reconciliation shows it).
      const feed = hl7Feed as Hl7FeedResult | null;
      const hl7In =
        hl7FeedDone &&
        (feed === null || hl7Loaded >= feed.expectedRecords || Date.now() - hl7StableSince >= 15_000);
      const nowBilling = await ledgerCount(pool, loaderSchema, billingJobs);
      billingRows = await loadedRows(pool, loaderSchema, billingJobs);
      if (nowBilling !== billingLoaded) {
        billingLoaded = nowBilling;
        billingStableSince = Date.now();
      }
      const billingIn =
        billingDrop !== null &&
        (billingLoaded >= billingDrop.expectedRecords || Date.now() - billingStableSince >= 15_000);
      const drained =
        allFinal &&
        hl7In &&
        billingIn &&
        counts.lag.validator === 0 &&
        counts.lag.redactor === 0 &&
        counts.loaded >= counts.clean;
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
    // The sites' rows alone: the feed reconciles on its own below.
    fhirLoaded = counts === null ? 0 : counts.loaded - hl7Rows - billingRows;
    await feedRun;
    hl7Metrics = await fetchText(`${hl7Receiver.url}/metrics`);
    await writeFile(join(metricsDir, 'mllp-receiver.prom'), hl7Metrics);
    serviceMetrics['mllp-receiver'] = pickMetrics(hl7Metrics);
    billingMetrics = await fetchText(`${billingReceiver.url}/metrics`);
    await writeFile(join(metricsDir, 'billing-receiver.prom'), billingMetrics);
    serviceMetrics['billing-receiver'] = pickMetrics(billingMetrics);

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
    await (hl7Receiver ?? (await hl7Starting?.catch(() => undefined)))?.child.stop(10_000);
    await (billingReceiver ?? (await billingStarting?.catch(() => undefined)))?.child.stop(10_000);
    await ehr?.stop();
  }

  const sourceIds = new Set(ehr?.sourceIds.values() ?? []);
  const billingFileJobs =
    billingDrop === null
      ? []
      : [...billingDrop.acceptedJobs, ...billingDrop.refused.map((r) => r.jobId), billingDrop.duplicateJob];
  const jobIds = [
    ...jobs.map((j) => j.id),
    ...(hl7Receiver === undefined ? [] : [hl7Receiver.jobId]),
    ...billingFileJobs,
  ];
  if (jobIds.length > 0) io.say(`reconciling ${jobIds.length} job(s) stage by stage (one topic scan)…`);
  const results = await reconcileJobs(jobIds, env, loaderSchema, problems);
  const reconciliation: JobReconciliation[] = jobs.map((job) => {
    const result = results.get(job.id);
    return {
      jobId: job.id,
      sourceId: job.sourceId,
      reconciled: result?.reconciled === true,
      result: result ?? null,
    };
  });
  const hl7 =
    hl7Receiver === undefined
      ? null
      : hl7Reconciliation(hl7Receiver, hl7Feed, hl7Metrics, results.get(hl7Receiver.jobId), problems);
  const billing =
    billingReceiver === undefined
      ? null
      : await billingReport(billingReceiver, billingDrop, billingMetrics, results, problems);
  let events: RunEvents | null = null;
  try {
    events = await readRunEvents(
      kafka,
      codec,
      topics,
      new Set([...sourceIds, hl7SourceId, billingSourceId]),
      startedAt,
    );
  } catch {
    problems.push('could not read drift and quarantine topics');
  }
  let leakScan: LeakReport | null = null;
  io.say('leak scan: every log, alert, metric, topic record, Redis key and clean row of this run…');
  try {
    leakScan = await runLeakScan({
      canaries: [...canaryValues(canaries), ...hl7CanaryValues(), ...billingCanaryValues()],
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
  // The FHIR sites' quarantine; the HL7 and billing feeds reconcile on their own.
  const quarantined =
    (events?.quarantinedRecords ?? 0) -
    (events?.quarantinedBySource[hl7SourceId] ?? 0) -
    (events?.quarantinedBySource[billingSourceId] ?? 0);
  const loaded = fhirLoaded;
  const expectedLoaded = served - quarantined;
  const reconciled =
    reconciliation.length > 0 &&
    reconciliation.every((r) => r.reconciled) &&
    hl7?.reconciled === true &&
    billing?.reconciled === true &&
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
    hl7,
    billing,
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
    canaryLabels: [...canaryLabels(canaries), ...hl7CanaryLabels(), ...billingCanaryLabels()],
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

/** The feed's identity, checked: received = ACKed = raw = valid + quarantined = clean = loaded. */
export function hl7Reconciliation(
  receiver: Pick<Hl7Receiver, 'sourceId' | 'jobId'>,
  feed: Hl7FeedResult | null,
  metrics: string,
  result: ReconcileJson | undefined,
  problems: string[],
): Hl7DemoReport {
  const { received, duplicates } = receiverCounts(metrics);
  const m = result?.messages ?? null;
  const recordsAt = (stage: string): number => {
    const row = result?.rows?.find((r) => r.stage === stage);
    return typeof row?.count === 'number' ? row.count : -1;
  };
  const records =
    m === null ? null : { valid: recordsAt('valid'), clean: recordsAt('clean'), loaded: recordsAt('loaded') };
  const checks: [boolean, string][] = [
    [feed !== null, 'the HL7 senders did not finish'],
    [m !== null, 'the HL7 feed has no message counts in its reconciliation'],
    [result?.reconciled === true, `job ${receiver.jobId} did not reconcile`],
    [feed !== null && received === feed.acked, `HL7: received ${received} != ACKed ${feed?.acked ?? '-'}`],
    [
      m !== null && feed !== null && m.raw === feed.acked,
      `HL7: raw ${m?.raw ?? '-'} != ACKed ${feed?.acked ?? '-'}`,
    ],
    [
      m !== null && m.valid + m.quarantined === m.raw,
      `HL7: valid ${m?.valid ?? '-'} + quarantined ${m?.quarantined ?? '-'} != raw ${m?.raw ?? '-'} messages`,
    ],
    [m !== null && m.clean === m.valid, `HL7: clean ${m?.clean ?? '-'} != valid ${m?.valid ?? '-'} messages`],
    [
      m !== null && m.loaded === m.clean,
      `HL7: loaded ${m?.loaded ?? '-'} != clean ${m?.clean ?? '-'} messages`,
    ],
    [
      m !== null && feed !== null && m.quarantined === feed.expectedQuarantined,
      `HL7: ${m?.quarantined ?? '-'} messages quarantined, the drift switch should quarantine ${feed?.expectedQuarantined ?? '-'}`,
    ],
    [
      records !== null && feed !== null && records.loaded === feed.expectedRecords,
      `HL7: ${records?.loaded ?? '-'} records loaded, the mapping makes ${feed?.expectedRecords ?? '-'} of the clean messages`,
    ],
  ];
  const failed = checks.filter(([ok]) => !ok).map(([, why]) => why);
  problems.push(...failed);
  return {
    sourceId: receiver.sourceId,
    jobId: receiver.jobId,
    feed,
    received,
    duplicates,
    messages: m,
    records,
    reconciled: failed.length === 0,
    result: result ?? null,
  };
}

/** Rows the loader committed for one job (0 before its ledger exists). */
async function ledgerCount(pool: pg.Pool, schema: string, jobIds: readonly string[]): Promise<number> {
  try {
    const { rows } = await pool.query<{ n: string }>(
      `select count(*) as n from "${schema}".loader_ledger where job_id = any($1)`,
      [[...jobIds]],
    );
    return Number(rows[0]?.n ?? 0);
  } catch {
    return 0;
  }
}

async function fetchText(url: string): Promise<string> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3_000) });
    return await res.text();
  } catch {
    return '';
  }
}

/**
 * The billing feed's report: the file jobs' reconciliation summed per transaction set, the reasons
 * the receiver gave for each refused file (its `quarantine/<digest>.reason.json`), the
 * acknowledgments in the outbox.
 */
async function billingReport(
  receiver: BillingReceiver,
  drop: BillingDrop | null,
  metrics: string,
  results: ReadonlyMap<string, ReconcileJson>,
  problems: string[],
): Promise<BillingDemoReport> {
  const files =
    drop === null
      ? []
      : [...drop.acceptedJobs, ...drop.refused.map((r) => r.jobId)]
          .map((id) => results.get(id))
          .filter((r) => r !== undefined);
  const totals =
    drop === null || files.length === 0 ? null : billingTotals(files as unknown as ReconcileResult[]);
  const reasons = new Map<string, string>();
  for (const r of drop?.refused ?? []) {
    try {
      const text = await readFile(
        join(receiver.inbox, 'quarantine', `${r.jobId.split(':').at(-1) ?? ''}.reason.json`),
        'utf8',
      );
      reasons.set(r.jobId, String((JSON.parse(text) as { reason?: unknown }).reason));
    } catch {
      // Reported as a missing reason.
    }
  }
  const dupRaw = drop === null ? undefined : results.get(drop.duplicateJob);
  const duplicateRaw = Number(dupRaw?.rows?.find((row) => row.stage === 'raw')?.count ?? 0);
  return billingReconciliation({
    sourceId: receiver.sourceId,
    drop,
    metrics,
    totals,
    reasons,
    acks: await countAcks(receiver.outbox),
    duplicateRaw,
    problems,
  });
}

/** A number from the demo's seed text (the HL7 senders' seeds). */
function seedNumber(seed: string): number {
  let n = 0;
  for (const ch of seed) n = (n * 31 + ch.charCodeAt(0)) >>> 0;
  return n % 1_000_000;
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
