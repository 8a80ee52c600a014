import { join } from 'node:path';
import { Kafka, logLevel, type Admin } from '@ehrflow/kafka';
import pg from 'pg';
import { createCodec, type SchemaRegistry } from '@ehrflow/contracts';
import {
  type EhrSetup,
  fetchMetrics,
  FINAL_STATES,
  getJob,
  type JobView,
  loadedRows,
  loadOrCreateSecrets,
  type PipelineTopics,
  pipelineTopics,
  provisionPipeline,
  readTopics,
  RESOURCE_TYPES,
  type Scratch,
  type ServiceHandle,
  type ServiceName,
  snakeCase,
  startEhr,
  startJob,
  startPipelineServices,
  stopPipelineServices,
  sumMetric,
} from '@ehrflow/pipeline-tools';
import { REPO_ROOT, sleep } from '@ehrflow/testing';
import {
  cpuBetween,
  ownCpuSeconds,
  sampleOfMetrics,
  totalCpu,
  type CpuFigure,
  type CpuSample,
} from './cpu.ts';
import { createMachineProbe, type MachineCpu } from './machine-cpu.ts';
import { rate, type StageFigure } from './pass-through.ts';

export interface LatencyFigures {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly samples: number;
}

export interface EndToEndOptions {
  readonly admin: Admin;
  readonly registry: SchemaRegistry;
  readonly scratch: Scratch;
  readonly runId: string;
  readonly patientsPerSite: number;
  readonly sites: number;
  readonly env: NodeJS.ProcessEnv;
  readonly logDir: string;
  readonly latencyRun: boolean;
  readonly timeoutMs: number;
  readonly onProgress?: (line: string) => void;
  /** Write a V8 CPU profile of these services into `cpuProfileDir` (written when they stop). */
  readonly cpuProfile?: { readonly dir: string; readonly services: readonly ServiceName[] };
}

export interface EndToEndResult {
  readonly resources: number;
  /** Rows committed per second from the first raw record to the last row. */
  readonly perSecond: number;
  readonly durationMs: number;
  /** Extraction (raw envelope `extractedAt`) to row (`_loaded_at`, the loader's transaction time). */
  readonly latency: LatencyFigures;
  readonly stages: readonly StageFigure[];
  /** CPU of the four services per resource loaded (the sum of the stages' CPU over the run). */
  readonly cpu: CpuFigure | undefined;
  /** CPU of this process (the simulated EHR serving the data, and the bench's polling) per resource. */
  readonly simulatorCpu: CpuFigure | undefined;
  /**
   * The whole machine's CPU over the window of the services' CPU figures (the throughput run, not
   * the latency run): the services, the simulator, the stack, the rest. Absent off Linux.
   */
  readonly machine?: MachineCpu | undefined;
  readonly latencyRun: (LatencyFigures & { readonly targetPerSecond: number }) | null;
}

/** The counter of records each service handled, from its own `/metrics`. */
export const RECORD_METRICS: Readonly<Record<ServiceName, string>> = {
  extractor: 'ehrflow_extractor_resources_produced_total',
  validator: 'ehrflow_validator_records_total',
  redactor: 'ehrflow_redactor_records_total',
  loader: 'ehrflow_loader_records_total',
};

/** Each service's CPU and record counter, read from its `/metrics`. */
async function sampleServices(
  services: ReadonlyMap<ServiceName, ServiceHandle>,
): Promise<Map<ServiceName, CpuSample>> {
  const out = new Map<ServiceName, CpuSample>();
  await Promise.all(
    [...services.values()].map(async (s) => {
      const sample = sampleOfMetrics(await fetchMetrics(s), RECORD_METRICS[s.name], sumMetric);
      if (sample !== undefined) out.set(s.name, sample);
    }),
  );
  return out;
}

/** Records the loader counted as handled, from its `/metrics` (0 while it does not answer). */
async function loaderCount(loader: ServiceHandle): Promise<number> {
  const sample = sampleOfMetrics(await fetchMetrics(loader), RECORD_METRICS.loader, sumMetric);
  return sample?.records ?? 0;
}

/**
 * The real pipeline (extractor → validator → redactor → loader, each its own process) over
 * simulator data with faults and rate limit off, on temporary topics, subjects, consumer groups
 * and database schemas of this run.
 */
export async function measureEndToEnd(options: EndToEndOptions): Promise<EndToEndResult> {
  const { scratch, runId } = options;
  const topics = pipelineTopics(`bench.${runId}.`);
  await provisionPipeline(scratch, topics, options.env);

  const secrets = await loadOrCreateSecrets(join(REPO_ROOT, '.run', 'bench', 'secrets.env'));
  const env: NodeJS.ProcessEnv = { ...options.env, ...secrets, LOG_LEVEL: 'warn' };
  const schemas = { extractor: `bench_${runId}_x`, loader: `bench_${runId}_l` };
  const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });
  const mainSites = Array.from({ length: options.sites }, (_, i) => `site-${String.fromCharCode(97 + i)}`);
  let ehr: EhrSetup | undefined;
  let services = new Map<ServiceName, ServiceHandle>();
  try {
    ehr = await startEhr({
      seed: `bench-${runId}`,
      sites: [...mainSites, ...(options.latencyRun ? [LATENCY_SITE] : [])],
      patientsPerSite: options.patientsPerSite,
      enforcedPerMinute: 0,
      publishedPerMinute: 60_000,
      tokenLifetimeSeconds: 300,
      sourcePrefix: `bench-${runId}-`,
      dir: join(options.logDir, 'ehr'),
      maxConcurrency: 4,
      maxResourcesPerFile: 5_000,
      // Rendered before the clock: the EHR's download cost, not its making of synthetic data.
      keepLines: true,
    });
    const mainSources = mainSites.map((site) => ehr?.sourceIds.get(site) as string);
    const served = mainSources.reduce((sum, id) => sum + (ehr?.expectedPerSource.get(id) ?? 0), 0);
    options.onProgress?.(`end-to-end: ${served} resources from ${options.sites} simulated sites`);
    services = await startPipelineServices({
      env,
      topics,
      sourcesFile: ehr.sourcesFile,
      logDir: options.logDir,
      extractorDbSchema: schemas.extractor,
      loaderDbSchema: schemas.loader,
      groups: {
        validator: `bench.${runId}.validator`,
        redactor: `bench.${runId}.redactor`,
        loader: `bench.${runId}.loader`,
      },
      ...(options.cpuProfile === undefined ? {} : { extraEnv: profileEnv(options.cpuProfile, env) }),
    });
    const extractor = services.get('extractor') as ServiceHandle;
    const probe = createMachineProbe(env);
    const cpuBefore = await sampleServices(services);
    const ownBefore = ownCpuSeconds();
    const machineBefore = probe?.sample();
    let jobs: JobView[] = [];
    for (const source of mainSources) jobs.push(await startJob(extractor.url, { source, kind: 'backfill' }));
    const deadline = Date.now() + options.timeoutMs;
    let loaded = 0;
    let lastReport = 0;
    const loaderService = services.get('loader') as ServiceHandle;
    for (;;) {
      jobs = await Promise.all(jobs.map((j) => getJob(extractor.url, j.id)));
      // The loader's own counter while it is short of the total, the tables' exact count after:
      // counting rows scans every table, and four scans a second made PostgreSQL spend ~30 µs of
      // the machine's CPU per resource on the bench instead of the pipeline it measures.
      loaded = await loaderCount(loaderService);
      if (loaded >= served) {
        loaded = await loadedRows(
          pool,
          schemas.loader,
          jobs.map((j) => j.id),
        );
        if (loaded >= served) break;
      }
      const failed = jobs.find((j) => FINAL_STATES.has(j.state) && j.state !== 'completed');
      if (failed !== undefined) throw new Error(`extraction job of ${failed.sourceId} ended ${failed.state}`);
      const dead = [...services.values()].find((s) => !s.child.running());
      if (dead !== undefined)
        throw new Error(`${dead.name} exited; see ${join(options.logDir, `${dead.name}.log`)}`);
      if (Date.now() > deadline)
        throw new Error(`end-to-end: ${loaded} of ${served} rows after ${options.timeoutMs} ms`);
      if (Date.now() - lastReport > 10_000) {
        options.onProgress?.(`end-to-end: ${loaded}/${served} rows loaded`);
        lastReport = Date.now();
      }
      await sleep(250);
    }
    const cpuAfter = await sampleServices(services);
    const ownAfter = ownCpuSeconds();
    const machineAfter = probe?.sample();
    const peaks = new Map([...services.values()].map((s) => [s.name, s.child.peakRssBytes()]));
    const cpuOf = (name: ServiceName): CpuFigure | undefined => {
      const before = cpuBefore.get(name);
      const after = cpuAfter.get(name);
      return before === undefined || after === undefined ? undefined : cpuBetween(before, after);
    };

    const timing = await collectTimings(
      options.env,
      topics,
      pool,
      schemas.loader,
      jobs.map((j) => j.id),
      options.registry,
    );
    const stages: StageFigure[] = [
      {
        stage: 'extractor (raw produced)',
        perSecond: timing.stageRates.raw,
        peakRssBytes: peaks.get('extractor'),
        cpu: cpuOf('extractor'),
      },
      {
        stage: 'validator (valid produced)',
        perSecond: timing.stageRates.valid,
        peakRssBytes: peaks.get('validator'),
        cpu: cpuOf('validator'),
      },
      {
        stage: 'redactor (clean produced)',
        perSecond: timing.stageRates.clean,
        peakRssBytes: peaks.get('redactor'),
        cpu: cpuOf('redactor'),
      },
      {
        stage: 'loader (rows committed)',
        perSecond: timing.stageRates.loaded,
        peakRssBytes: peaks.get('loader'),
        cpu: cpuOf('loader'),
      },
    ];
    const perSecond = rate(loaded, timing.lastRowAt - timing.firstRawAt);
    const latencyRun = options.latencyRun
      ? await measureLatencyAtHalfRate({
          ehr,
          extractorUrl: extractor.url,
          targetPerSecond: Math.max(1, Math.round(perSecond / 2)),
          pool,
          schema: schemas.loader,
          deadline: Date.now() + options.timeoutMs,
          services,
          onProgress: options.onProgress,
          collect: (jobIds) =>
            collectTimings(options.env, topics, pool, schemas.loader, jobIds, options.registry),
        })
      : null;
    const cpu = totalCpu(
      stages.map((st) => st.cpu),
      loaded,
    );
    const simulatorCpu = cpuBetween(
      { cpuSeconds: ownBefore, records: 0 },
      { cpuSeconds: ownAfter, records: loaded },
    );
    return {
      resources: loaded,
      perSecond,
      durationMs: timing.lastRowAt - timing.firstRawAt,
      latency: timing.latency,
      stages,
      cpu,
      simulatorCpu,
      machine: probe?.between(machineBefore, machineAfter, loaded, {
        services: cpu?.cpuSeconds,
        simulator: simulatorCpu?.cpuSeconds,
      }),
      latencyRun,
    };
  } finally {
    await stopPipelineServices(services);
    await ehr?.stop();
    await pool.query(`drop schema if exists "${schemas.extractor}" cascade`).catch(() => undefined);
    await pool.query(`drop schema if exists "${schemas.loader}" cascade`).catch(() => undefined);
    await pool.end();
  }
}

/** NODE_OPTIONS that make each named service write a CPU profile (`<dir>/<service>/*.cpuprofile`). */
function profileEnv(
  profile: { readonly dir: string; readonly services: readonly ServiceName[] },
  env: NodeJS.ProcessEnv,
): Partial<Record<ServiceName, NodeJS.ProcessEnv>> {
  const out: Partial<Record<ServiceName, NodeJS.ProcessEnv>> = {};
  for (const name of profile.services) {
    const dir = join(profile.dir, name);
    out[name] = { NODE_OPTIONS: `${env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${dir}`.trim() };
  }
  return out;
}

/** The site whose backfill runs paced, after the throughput run, for the latency figure. */
const LATENCY_SITE = 'site-latency';

interface LatencyRunOptions {
  readonly ehr: EhrSetup;
  readonly extractorUrl: string;
  readonly targetPerSecond: number;
  readonly pool: pg.Pool;
  readonly schema: string;
  readonly deadline: number;
  readonly services: ReadonlyMap<ServiceName, ServiceHandle>;
  readonly onProgress: ((line: string) => void) | undefined;
  readonly collect: (jobIds: readonly string[]) => Promise<Timings>;
}

/**
 * Latency at a set input rate: the simulator serves the latency site's files at
 * `targetPerSecond` lines per second in all (a slow link), so resources enter the pipeline at
 * that rate, and extraction → row latency is taken over that job's rows only.
 */
async function measureLatencyAtHalfRate(
  options: LatencyRunOptions,
): Promise<LatencyFigures & { readonly targetPerSecond: number }> {
  const { ehr, targetPerSecond } = options;
  const source = ehr.sourceIds.get(LATENCY_SITE) as string;
  const expected = ehr.expectedPerSource.get(source) ?? 0;
  ehr.sim.setFaults({ servedLinesPerSecond: targetPerSecond });
  options.onProgress?.(`latency run: ${expected} resources served at ${targetPerSecond}/s`);
  const loader = options.services.get('loader') as ServiceHandle;
  const loadedBefore = await loaderCount(loader);
  let job = await startJob(options.extractorUrl, { source, kind: 'backfill' });
  for (;;) {
    job = await getJob(options.extractorUrl, job.id);
    // As in the throughput run: the loader's counter first, the exact count of rows at the end.
    let loaded = (await loaderCount(loader)) - loadedBefore;
    if (loaded >= expected) {
      loaded = await loadedRows(options.pool, options.schema, [job.id]);
      if (loaded >= expected) break;
    }
    if (FINAL_STATES.has(job.state) && job.state !== 'completed')
      throw new Error(`latency run: extraction job ended ${job.state}`);
    const dead = [...options.services.values()].find((s) => !s.child.running());
    if (dead !== undefined) throw new Error(`latency run: ${dead.name} exited`);
    if (Date.now() > options.deadline) throw new Error(`latency run: ${loaded} of ${expected} rows in time`);
    await sleep(250);
  }
  ehr.sim.setFaults({ servedLinesPerSecond: 0 });
  const timing = await options.collect([job.id]);
  return { ...timing.latency, targetPerSecond };
}

interface Timings {
  readonly firstRawAt: number;
  readonly lastRowAt: number;
  readonly latency: LatencyFigures;
  readonly stageRates: {
    readonly raw: number;
    readonly valid: number;
    readonly clean: number;
    readonly loaded: number;
  };
}

/** Reads Kafka timestamps of every stage's output and the rows' `_loaded_at`. */
async function collectTimings(
  env: NodeJS.ProcessEnv,
  topics: PipelineTopics,
  pool: pg.Pool,
  schema: string,
  jobIds: readonly string[],
  registry: SchemaRegistry,
): Promise<Timings> {
  const kafka = new Kafka({
    brokers: (env.KAFKA_BROKERS ?? '').split(','),
    clientId: 'bench-timings',
    logLevel: logLevel.NOTHING,
  });
  const codec = createCodec(registry);
  const extractedAt = new Map<string, number>();
  const spans = { raw: span(), valid: span(), clean: span() };
  await readTopics(
    kafka,
    { topics: [topics.raw, ...topics.valid, ...topics.clean], timeoutMs: 120_000 },
    async (record) => {
      const stage =
        record.topic === topics.raw ? 'raw' : record.topic.startsWith(topics.validPrefix) ? 'valid' : 'clean';
      spans[stage].add(record.timestamp);
      if (stage === 'raw' && record.value !== null) {
        const { value } = await codec.decode<{ recordId: string; extractedAt: number | Date }>(record.value);
        extractedAt.set(value.recordId, Number(value.extractedAt));
      }
    },
  );
  const loadedSpan = span();
  const latencies: number[] = [];
  for (const type of RESOURCE_TYPES) {
    const { rows } = await pool.query<{ record_id: string; at: string }>(
      `select record_id, (extract(epoch from _loaded_at) * 1000)::bigint as at from "${schema}"."${snakeCase(type)}" where job_id = any($1)`,
      [[...jobIds]],
    );
    for (const row of rows) {
      const at = Number(row.at);
      loadedSpan.add(at);
      const from = extractedAt.get(row.record_id);
      if (from !== undefined) latencies.push(at - from);
    }
  }
  latencies.sort((a, b) => a - b);
  return {
    firstRawAt: spans.raw.min,
    lastRowAt: loadedSpan.max,
    latency: {
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      samples: latencies.length,
    },
    stageRates: {
      raw: spans.raw.rate(),
      valid: spans.valid.rate(),
      clean: spans.clean.rate(),
      loaded: loadedSpan.rate(),
    },
  };
}

function span(): { min: number; max: number; count: number; add(t: number): void; rate(): number } {
  return {
    min: Number.POSITIVE_INFINITY,
    max: Number.NEGATIVE_INFINITY,
    count: 0,
    add(t) {
      this.min = Math.min(this.min, t);
      this.max = Math.max(this.max, t);
      this.count += 1;
    },
    rate() {
      return rate(this.count, this.max - this.min);
    },
  };
}

/** Nearest-rank percentile of sorted values (0 when empty). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[rank] as number;
}
