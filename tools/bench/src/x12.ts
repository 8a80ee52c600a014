/**
 * The X12 part of the benchmark: claims per second from an 837P file dropped in the billing
 * receiver's folder to the last Claim row committed by the loader (billing-receiver → validator →
 * redactor → loader, each its own process, on topics, groups and schemas of this run), and the
 * parse rate alone (the streaming envelope check and the mapping to Claim resources, in this
 * process). Beside each rate, CPU µs per claim per stage (process user + system over the run /
 * claims), the figure that holds on a shared machine. Measures; asserts nothing.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import {
  serviceRuntimeEnv,
  fetchMetrics,
  loadOrCreateSecrets,
  pipelineTopics,
  provisionPipeline,
  startChild,
  startPipelineServices,
  stopPipelineServices,
  sumMetric,
  type Child,
  type Scratch,
  type ServiceHandle,
  type ServiceName,
} from '@ehrflow/pipeline-tools';
import { freePort, REPO_ROOT, sleep, waitFor } from '@ehrflow/testing';
import { X12EnvelopeChecker, loadX12Mapping } from '@ehrflow/x12';
import { syntheticInterchange } from '@ehrflow/x12-sim';
import { cpuBetween, ownCpuSeconds, PROCESS_CPU_METRIC, sampleOfMetrics, type CpuSample } from './cpu.ts';
import { RECORD_METRICS } from './end-to-end.ts';

export interface X12BenchOptions {
  readonly scratch: Scratch;
  readonly runId: string;
  /** Claims in the 837P file (5 per transaction set). */
  readonly claims: number;
  readonly env: NodeJS.ProcessEnv;
  readonly logDir: string;
  readonly timeoutMs: number;
  /** Parse rate only: no stack. */
  readonly parseOnly?: boolean;
  readonly onProgress?: (line: string) => void;
}

/** A rate and the CPU per claim of one stage. */
export interface X12StageFigure {
  readonly stage: string;
  readonly claimsPerSecond: number;
  /** Process CPU (user + system) of the stage per claim, µs; undefined when not sampled. */
  readonly cpuMicrosPerClaim: number | undefined;
}

export interface X12BenchResult {
  readonly claims: number;
  readonly sets: number;
  readonly fileBytes: number;
  /** The envelope check alone, and the mapping to Claim resources alone (this process). */
  readonly parse: X12StageFigure & { readonly megabytesPerSecond: number };
  readonly map: X12StageFigure;
  /** From the `.done` marker to the last Claim row; null with `parseOnly`. */
  readonly endToEnd: {
    readonly claimsPerSecond: number;
    readonly seconds: number;
    /** From the marker to the file in `done/` (every set acknowledged on the raw topic). */
    readonly receiverClaimsPerSecond: number;
    readonly stages: readonly X12StageFigure[];
    /** The four processes' CPU per claim, summed. */
    readonly cpuMicrosPerClaim: number | undefined;
  } | null;
}

const PER_SET = 5;

export async function measureX12(options: X12BenchOptions): Promise<X12BenchResult> {
  const sets = Math.ceil(options.claims / PER_SET);
  const claims = sets * PER_SET;
  const file = syntheticInterchange({
    seed: 7,
    controlNumber: 1 + (Date.now() % 900_000_000),
    groups: [{ kind: '837P', sets, claimsPerSet: PER_SET, dependentShare: 0.2 }],
  });
  options.onProgress?.(
    `x12: 837P file of ${(file.bytes.length / 1e6).toFixed(1)} MB, ${sets} sets, ${claims} claims`,
  );

  // Parse alone: the streaming envelope check, in 256 KiB chunks as the receiver reads.
  let cpu = ownCpuSeconds();
  let t = performance.now();
  const checker = new X12EnvelopeChecker();
  for (let i = 0; i < file.bytes.length; i += 256 * 1024)
    checker.push(file.bytes.subarray(i, i + 256 * 1024));
  const check = checker.finish();
  let ms = performance.now() - t;
  let cpuMicros = ((ownCpuSeconds() - cpu) * 1e6) / claims;
  if (check.problem !== undefined) throw new Error(`generated file refused: ${check.problem.kind}`);
  const parse = {
    stage: 'parse (envelope check)',
    claimsPerSecond: Math.round((claims * 1000) / ms),
    megabytesPerSecond: Math.round((file.bytes.length / 1e6) * (1000 / ms) * 10) / 10,
    cpuMicrosPerClaim: round1(cpuMicros),
  };
  // Map alone: each self-contained set (ISA + GS + ST…SE) → Claim resources.
  const mapping = loadX12Mapping(join(REPO_ROOT, 'schemas', 'x12', 'mapping.json'));
  const isa = file.bytes.subarray(check.header?.start, check.header?.end);
  const gs = file.bytes.subarray(check.groups[0]?.header.start, check.groups[0]?.header.end);
  const payloads = check.sets.map((s) => Buffer.concat([isa, gs, file.bytes.subarray(s.start, s.end)]));
  cpu = ownCpuSeconds();
  t = performance.now();
  let mapped = 0;
  for (const p of payloads) mapped += mapping.map(p).resources.length;
  ms = performance.now() - t;
  cpuMicros = ((ownCpuSeconds() - cpu) * 1e6) / mapped;
  const map = {
    stage: 'map (set → Claim)',
    claimsPerSecond: Math.round((mapped * 1000) / ms),
    cpuMicrosPerClaim: round1(cpuMicros),
  };
  if (options.parseOnly === true)
    return { claims, sets, fileBytes: file.bytes.length, parse, map, endToEnd: null };

  const prefix = `bench.${options.runId}.x12.`;
  const topics = pipelineTopics(prefix);
  await provisionPipeline(options.scratch, topics, options.env);
  const secrets = await loadOrCreateSecrets(join(REPO_ROOT, '.run', 'bench', 'secrets.env'));
  const env: NodeJS.ProcessEnv = { ...options.env, ...secrets, LOG_LEVEL: 'warn' };
  const schemas = { extractor: `bench_${options.runId}_x12x`, loader: `bench_${options.runId}_x12l` };
  const dir = join(options.logDir, `x12-${randomUUID().slice(0, 6)}`);
  const inbox = join(dir, 'inbox');
  await mkdir(inbox, { recursive: true });
  const sourceId = `bench-x12-${options.runId}`;
  const jobId = `x12:${sourceId}:${createHash('sha256').update(file.bytes).digest('hex').slice(0, 16)}`;
  const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });
  let services = new Map<ServiceName, ServiceHandle>();
  let receiver: Child | undefined;
  try {
    services = await startPipelineServices(
      {
        env,
        topics,
        sourcesFile: join(dir, 'no-sources.json'),
        logDir: options.logDir,
        extractorDbSchema: schemas.extractor,
        loaderDbSchema: schemas.loader,
        groups: { validator: `${prefix}validator`, redactor: `${prefix}redactor`, loader: `${prefix}loader` },
      },
      ['loader', 'redactor', 'validator'],
    );
    const httpPort = await freePort();
    const receiverUrl = `http://127.0.0.1:${httpPort}`;
    receiver = await startChild({
      name: 'billing-receiver',
      args: [join(REPO_ROOT, 'services', 'billing-receiver', 'src', 'main.ts')],
      env: {
        ...env,
        ...serviceRuntimeEnv('billing-receiver', env),
        HTTP_PORT: String(httpPort),
        X12_SOURCE_ID: sourceId,
        X12_INBOX_DIR: inbox,
        X12_OUTBOX_DIR: join(dir, 'outbox'),
        X12_POLL_MS: '20',
        X12_REQUIRE_MARKER: 'true',
        X12_RAW_TOPIC: topics.raw,
        X12_QUARANTINE_TOPIC: topics.quarantine,
        X12_TRANSACTIONAL_ID: `${prefix}tx`,
      },
      logFile: join(options.logDir, 'billing-receiver.log'),
      cwd: REPO_ROOT,
    });
    const receiverMetrics = () => fetchText(`${receiverUrl}/metrics`);
    await waitFor(
      async () => {
        if (!receiver?.running()) throw new Error('billing-receiver exited');
        return (await receiverMetrics()).includes(PROCESS_CPU_METRIC);
      },
      { timeoutMs: 60_000, intervalMs: 300, what: 'billing-receiver to serve /metrics' },
    );

    const sample = async (): Promise<Map<string, CpuSample>> => {
      const out = new Map<string, CpuSample>();
      for (const s of services.values()) {
        const v = sampleOfMetrics(await fetchMetrics(s), RECORD_METRICS[s.name], sumMetric);
        if (v !== undefined) out.set(s.name, v);
      }
      const r = sampleOfMetrics(await receiverMetrics(), 'ehrflow_x12_transaction_sets_total', sumMetric);
      if (r !== undefined) out.set('billing-receiver', r);
      return out;
    };
    await writeFile(join(inbox, 'bench.x12'), file.bytes);
    const before = await sample();
    const started = performance.now();
    await writeFile(join(inbox, 'bench.x12.done'), '');
    const deadline = Date.now() + options.timeoutMs;
    let receiverMs: number | undefined;
    let loaded = 0;
    let lastReport = 0;
    for (;;) {
      if (
        receiverMs === undefined &&
        (await readdir(join(inbox, 'done')).catch(() => [] as string[])).includes('bench.x12')
      )
        receiverMs = performance.now() - started;
      loaded = await ledger(pool, schemas.loader, jobId);
      if (loaded >= claims) break;
      const dead = [...services.values()].find((s) => !s.child.running());
      if (dead !== undefined || !receiver.running())
        throw new Error(`${dead?.name ?? 'billing-receiver'} exited; see ${options.logDir}`);
      if (Date.now() > deadline) throw new Error(`x12: ${loaded} of ${claims} claims loaded in time`);
      if (Date.now() - lastReport > 10_000) {
        options.onProgress?.(`x12: ${loaded}/${claims} claims loaded`);
        lastReport = Date.now();
      }
      await sleep(100);
    }
    const seconds = (performance.now() - started) / 1000;
    const after = await sample();
    const perClaim = (name: string): number | undefined => {
      const b = before.get(name);
      const a = after.get(name);
      const figure = b === undefined || a === undefined ? undefined : cpuBetween(b, a);
      return figure === undefined ? undefined : round1((figure.cpuSeconds * 1e6) / claims);
    };
    const names = ['billing-receiver', 'validator', 'redactor', 'loader'];
    const stages = names.map((name) => ({
      stage: name,
      claimsPerSecond: Math.round(
        claims / (name === 'billing-receiver' ? (receiverMs ?? seconds * 1000) / 1000 : seconds),
      ),
      cpuMicrosPerClaim: perClaim(name),
    }));
    const known = stages.map((s) => s.cpuMicrosPerClaim).filter((n): n is number => n !== undefined);
    return {
      claims,
      sets,
      fileBytes: file.bytes.length,
      parse,
      map,
      endToEnd: {
        claimsPerSecond: Math.round(claims / seconds),
        seconds: Math.round(seconds * 10) / 10,
        receiverClaimsPerSecond: Math.round((claims * 1000) / (receiverMs ?? seconds * 1000)),
        stages,
        cpuMicrosPerClaim: known.length === 0 ? undefined : round1(known.reduce((a, b) => a + b, 0)),
      },
    };
  } finally {
    await receiver?.stop(10_000);
    await stopPipelineServices(services);
    for (const schema of Object.values(schemas))
      await pool.query(`drop schema if exists "${schema}" cascade`).catch(() => undefined);
    await pool.end();
  }
}

/** The X12 lines of the benchmark's report. */
export function formatX12(r: X12BenchResult): string[] {
  const micros = (n: number | undefined) => (n === undefined ? '-' : `${n} µs`);
  const lines = [
    `x12: ${r.claims} claims in ${r.sets} 837P sets (${(r.fileBytes / 1e6).toFixed(1)} MB), 20% of them dependents (loop 2000C)`,
    `x12 parse alone: ${r.parse.claimsPerSecond} claims/s (${r.parse.megabytesPerSecond} MB/s), CPU ${micros(r.parse.cpuMicrosPerClaim)}/claim; ` +
      `map to Claim alone: ${r.map.claimsPerSecond} claims/s, CPU ${micros(r.map.cpuMicrosPerClaim)}/claim`,
  ];
  const e = r.endToEnd;
  if (e === null) return [...lines, 'x12 end to end: not run (--x12-parse-only)'];
  lines.push(
    `x12 end to end (file .done marker → last Claim row): ${e.claimsPerSecond} claims/s over ${e.seconds} s (target 1,000); ` +
      `CPU of the four processes ${micros(e.cpuMicrosPerClaim)}/claim`,
  );
  for (const s of e.stages)
    lines.push(
      `  ${s.stage}: ${s.claimsPerSecond} claims/s${s.stage === 'billing-receiver' ? ' (file → every set on ehr.raw)' : ''}, CPU ${micros(s.cpuMicrosPerClaim)}/claim`,
    );
  return lines;
}

async function ledger(pool: pg.Pool, schema: string, jobId: string): Promise<number> {
  try {
    const { rows } = await pool.query<{ n: string }>(
      `select count(*) as n from "${schema}".loader_ledger where job_id = $1`,
      [jobId],
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

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
