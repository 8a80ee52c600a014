import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRegistry } from '@ehrflow/contracts';
import { RESOURCE_TYPES } from '@ehrflow/contracts/manifest';
import { createKafka } from '@ehrflow/kafka';
import { createLogger } from '@ehrflow/logging';
import { serviceRuntimeEnv } from '@ehrflow/pipeline-tools';
import { freePort, waitFor } from '@ehrflow/testing';
import pg from 'pg';

const HELP = `Usage: node tools/bench/src/extractor-bench.ts [options]

Extraction benchmark: the EHR simulator (its own process, no faults, no rate limit) serves a
backfill to the extractor service (its own process, rate limit off); envelopes go to a temporary
raw topic that is deleted afterwards. Prints, per run, resources/s, payload MB/s (plaintext FHIR
JSON, as the payload-bytes metric counts it) and the extractor's peak RSS (VmHWM from
/proc/<pid>/status). Figures only: nothing is asserted.

Needs the local stack (Kafka, schema registry, Redis, PostgreSQL; deploy/local/stack status).

Options:
  --resources <n>          resources of the throughput run (default 50000)
  --memory-resources <n>   resources of an extra memory run in large files (default 0 = skip;
                           400000 is about 500 MB of NDJSON)
  --per-file <n>           resources per export file in the throughput run (default 5000)
  --memory-per-file <n>    resources per export file in the memory run (default 100000)
  --concurrency <n>        parallel file downloads (source maxConcurrency, default 4)
  --batch <n>              envelopes per Kafka send (EXTRACTOR_BATCH_SIZE, default 500)
  --max-old-space <mb>     V8 old-space limit of the extractor process (default: Node's own),
                           to see how much of the peak RSS is heap V8 keeps only because it may
  -h, --help               show this help
`;

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
const SIM_CLI = here('../../../test/ehr-sim/src/cli.ts');
const EXTRACTOR_MAIN = here('../../../services/extractor/src/main.ts');
const REGISTRY_URL = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7';
const KAFKA_BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** Resources per simulated patient: one Patient and 2 of each of the 6 clinical types. */
const PER_PATIENT = 1 + 6 * 2;

interface RunSpec {
  readonly name: string;
  readonly resources: number;
  readonly perFile: number;
}

interface RunResult {
  readonly name: string;
  readonly files: number;
  readonly produced: number;
  readonly payloadBytes: number;
  readonly seconds: number;
  readonly peakRssBytes: number;
  /** Peak RSS once the service was ready, before the job: the floor the job adds to. */
  readonly readyRssBytes: number;
}

interface Options {
  readonly resources: number;
  readonly memoryResources: number;
  readonly perFile: number;
  readonly memoryPerFile: number;
  readonly concurrency: number;
  readonly batch: number;
  readonly maxOldSpaceMb: number;
}

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      resources: { type: 'string', default: '50000' },
      'memory-resources': { type: 'string', default: '0' },
      'per-file': { type: 'string', default: '5000' },
      'memory-per-file': { type: 'string', default: '100000' },
      concurrency: { type: 'string', default: '4' },
      batch: { type: 'string', default: '500' },
      'max-old-space': { type: 'string', default: '0' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return undefined;
  const int = (name: keyof typeof values, min: number): number => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min) throw new RangeError(`--${name} must be an integer >= ${min}`);
    return n;
  };
  return {
    resources: int('resources', 1),
    memoryResources: int('memory-resources', 0),
    perFile: int('per-file', 1),
    memoryPerFile: int('memory-per-file', 1),
    concurrency: int('concurrency', 1),
    batch: int('batch', 1),
    maxOldSpaceMb: int('max-old-space', 0),
  };
}

/** Peak resident set size of a process (VmHWM), in bytes; 0 when it cannot be read. */
function peakRss(pid: number): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? 0 : Number(match[1]) * 1024;
  } catch {
    return 0;
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Sum of one counter of a Prometheus text exposition over the series of a source. */
function counterSum(text: string, name: string, sourceId: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) && line.includes(`source="${sourceId}"`))
      sum += Number(line.split(' ').at(-1));
  }
  return sum;
}

interface JobSummary {
  readonly state: string;
  readonly counts: { readonly produced: number };
  readonly parts: { readonly total: number };
}

async function runOne(
  spec: RunSpec,
  options: Options,
  ctx: { rid: string; dir: string; rawTopic: string; jobsTopic: string; dbSchema: string },
): Promise<RunResult> {
  const simPort = await freePort();
  const apiPort = await freePort();
  const clientId = `bench-${ctx.rid}`;
  const secret = randomBytes(16).toString('hex');
  const sourceId = `bench-${spec.name}-${ctx.rid}`;
  const children: ChildProcess[] = [];
  try {
    const sim = spawn(
      process.execPath,
      [
        SIM_CLI,
        '--port',
        String(simPort),
        '--seed',
        `bench-${ctx.rid}`,
        '--sites',
        'site-a',
        '--patients',
        String(Math.max(1, Math.ceil(spec.resources / PER_PATIENT))),
        '--per-patient',
        '2',
        '--rate-limit',
        '0',
        '--max-per-file',
        String(spec.perFile),
        '--polls-before-ready',
        '0',
        '--poll-retry-after',
        '0',
        '--token-lifetime',
        '3600',
        '--client',
        `${clientId}:${secret}`,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    children.push(sim);
    const simUrl = `http://127.0.0.1:${simPort}`;
    await waitFor(
      () =>
        fetch(`${simUrl}/_admin/counters`).then(
          (r) => r.ok,
          () => false,
        ),
      {
        what: 'the simulator',
        timeoutMs: 30_000,
        intervalMs: 200,
      },
    );

    writeFileSync(join(ctx.dir, 'client.secret'), secret);
    const sourcesFile = join(ctx.dir, `sources-${spec.name}.json`);
    writeFileSync(
      sourcesFile,
      JSON.stringify({
        sources: [
          {
            id: sourceId,
            baseUrl: `${simUrl}/site-a/fhir`,
            tokenUrl: `${simUrl}/site-a/auth/token`,
            clientId,
            auth: { method: 'secret', secretFile: 'client.secret' },
            // The rate limit is off: a budget no run comes near.
            rateLimitPerMinute: 1e9,
            headroom: 1,
            maxConcurrency: options.concurrency,
            resourceTypes: [...RESOURCE_TYPES],
          },
        ],
      }),
    );
    const nodeArgs = options.maxOldSpaceMb > 0 ? [`--max-old-space-size=${options.maxOldSpaceMb}`] : [];
    const extractor = spawn(process.execPath, [...nodeArgs, EXTRACTOR_MAIN], {
      env: {
        ...process.env,
        KAFKA_BROKERS,
        SCHEMA_REGISTRY_URL: REGISTRY_URL,
        REDIS_URL,
        DATABASE_URL,
        PHI_KEYRING: `b${ctx.rid}:${randomBytes(32).toString('base64')}`,
        PSEUDONYM_KEY: randomBytes(32).toString('base64'),
        EHRFLOW_MODE: 'development',
        LOG_LEVEL: 'warn',
        ...serviceRuntimeEnv('extractor', process.env),
        HTTP_PORT: String(apiPort),
        EXTRACTOR_SOURCES_FILE: sourcesFile,
        EXTRACTOR_RAW_TOPIC: ctx.rawTopic,
        EXTRACTOR_JOBS_TOPIC: ctx.jobsTopic,
        EXTRACTOR_DB_SCHEMA: ctx.dbSchema,
        EXTRACTOR_BATCH_SIZE: String(options.batch),
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(extractor);
    const api = `http://127.0.0.1:${apiPort}`;
    await waitFor(
      () =>
        fetch(`${api}/readyz`).then(
          (r) => r.ok,
          () => false,
        ),
      {
        what: 'the extractor',
        timeoutMs: 60_000,
        intervalMs: 200,
      },
    );
    const readyRssBytes = peakRss(extractor.pid ?? 0);

    const started = performance.now();
    const res = await fetch(`${api}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ source: sourceId, kind: 'backfill' }),
    });
    if (!res.ok) throw new Error(`job not accepted: ${res.status}`);
    const { id } = (await res.json()) as { id: string };
    let job: JobSummary | undefined;
    await waitFor(
      async () => {
        job = (await (await fetch(`${api}/jobs/${id}`)).json()) as JobSummary;
        return job.state !== 'running' && job.state !== 'pending';
      },
      { what: 'the job to end', timeoutMs: 3_600_000 },
    );
    const seconds = (performance.now() - started) / 1000;
    const peakRssBytes = peakRss(extractor.pid ?? 0);
    if (job?.state !== 'completed') throw new Error(`the job ended ${job?.state ?? 'unknown'}`);
    const metrics = await (await fetch(`${api}/metrics`)).text();
    return {
      name: spec.name,
      files: job.parts.total,
      produced: job.counts.produced,
      payloadBytes: counterSum(metrics, 'ehrflow_extractor_payload_bytes_total', sourceId),
      seconds,
      peakRssBytes,
      readyRssBytes,
    };
  } finally {
    for (const child of children.reverse()) await stopChild(child);
  }
}

function printTable(results: readonly RunResult[]): void {
  const rows = [
    [
      'run',
      'files',
      'resources',
      'payload MB',
      'seconds',
      'resources/s',
      'MB/s',
      'RSS at ready MB',
      'peak RSS MB',
    ],
    ...results.map((r) => [
      r.name,
      String(r.files),
      String(r.produced),
      (r.payloadBytes / 1e6).toFixed(1),
      r.seconds.toFixed(1),
      Math.round(r.produced / r.seconds).toString(),
      (r.payloadBytes / 1e6 / r.seconds).toFixed(1),
      (r.readyRssBytes / 2 ** 20).toFixed(0),
      (r.peakRssBytes / 2 ** 20).toFixed(0),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows)
    process.stdout.write(`${row.map((cell, i) => cell.padStart(widths[i]!)).join('  ')}\n`);
}

async function main(argv: string[]): Promise<number> {
  let options: Options | undefined;
  try {
    options = parseOptions(argv);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${HELP}`);
    return 2;
  }
  if (options === undefined) {
    process.stdout.write(HELP);
    return 0;
  }
  const rid = randomBytes(4).toString('hex');
  const ctx = {
    rid,
    dir: mkdtempSync(join(tmpdir(), `extractor-bench-${rid}-`)),
    rawTopic: `bench.${rid}.raw`,
    jobsTopic: `bench.${rid}.jobs`,
    dbSchema: `extractor_bench_${rid}`,
  };
  const logger = createLogger({ name: 'extractor-bench', level: 'warn' });
  const kafka = createKafka({
    brokers: KAFKA_BROKERS,
    clientId: `extractor-bench-${rid}`,
    logger,
    mode: 'development',
  });
  const registry = createRegistry({ url: REGISTRY_URL });
  const admin = kafka.kafkajs.admin();
  await admin.connect();
  const results: RunResult[] = [];
  try {
    await admin.createTopics({
      topics: [
        { topic: ctx.rawTopic, numPartitions: 3 },
        { topic: ctx.jobsTopic, numPartitions: 1 },
      ],
      waitForLeaders: true,
    });
    for (const [topic, from] of [
      [ctx.rawTopic, 'ehr.raw-value'],
      [ctx.jobsTopic, 'ehr.jobs-value'],
    ] as const) {
      await registry.register(`${topic}-value`, (await registry.latest(from)).text);
    }
    const runs: RunSpec[] = [{ name: 'throughput', resources: options.resources, perFile: options.perFile }];
    if (options.memoryResources > 0) {
      runs.push({ name: 'memory', resources: options.memoryResources, perFile: options.memoryPerFile });
    }
    for (const spec of runs) {
      process.stderr.write(`run ${spec.name}: ${spec.resources} resources, ${spec.perFile} per file...\n`);
      results.push(await runOne(spec, options, ctx));
    }
    printTable(results);
    return 0;
  } finally {
    await admin.deleteTopics({ topics: [ctx.rawTopic, ctx.jobsTopic] }).catch(() => undefined);
    await admin.disconnect();
    for (const topic of [ctx.rawTopic, ctx.jobsTopic])
      await registry.deleteSubject(`${topic}-value`).catch(() => undefined);
    await registry.close();
    const pool = new pg.Pool({ connectionString: DATABASE_URL });
    await pool.query(`DROP SCHEMA IF EXISTS "${ctx.dbSchema}" CASCADE`).catch(() => undefined);
    await pool.end();
    rmSync(ctx.dir, { recursive: true, force: true });
  }
}

process.exitCode = await main(process.argv.slice(2));
