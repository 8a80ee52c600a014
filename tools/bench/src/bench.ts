/**
 * `npm run bench`: the pipeline's throughput and latency beside two reference figures measured on
 * the same broker and machine in the same run — Kafka's own producer performance tool (the broker
 * limit) and a pass-through pipeline (four stages that only consume, decode, encode and produce).
 * Prints a table and writes JSON (`--out`). Run `node tools/bench/src/bench.ts --help`.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createCodec, createRegistry } from '@ehrflow/contracts';
import { connectAdmin, createKafka } from '@ehrflow/kafka';
import { createLogger } from '@ehrflow/logging';
import { measureBrokerLimit, type BrokerLimitResult } from './broker-limit.ts';
import { formatGc } from './cpu.ts';
import { measureEndToEnd, type EndToEndResult } from './end-to-end.ts';
import { formatMachineCpu } from './machine-cpu.ts';
import { formatMllp, measureMllp, type MllpBenchResult } from './mllp.ts';
import { measurePassThrough, type PassThroughResult, type StageFigure } from './pass-through.ts';
import { formatX12, measureX12, type X12BenchResult } from './x12.ts';
import {
  createScratch,
  formatCount,
  formatMb,
  formatMicros,
  formatRatio,
  formatTable,
} from '@ehrflow/pipeline-tools';
import { REPO_ROOT, stackEnv } from '@ehrflow/testing';

const HELP = `Usage: node tools/bench/src/bench.ts [options]   (npm run bench -- [options])

Measures, on the local stack, in this order:
  pass-through  four consume/decode/encode/produce stages through temporary topics, with the
                services' batching and runtime settings (heap, malloc) but no logic
  broker        Kafka's ProducerPerformance tool (JDK, acks=all, same record size)
  end-to-end    extractor -> validator -> redactor -> loader over simulator data, faults off
                (the simulated EHR renders its files before the clock, as a real server has
                written them before its manifest lists them); then a latency run at ~50% of
                the measured end-to-end rate
  mllp          the MLLP receiver: durable-ACKed HL7 messages/s from 10 senders, CPU per
                message, ACK latency at half that rate (also: npm run bench:mllp)
  x12           X12 837P claims/s from a file dropped in the billing receiver's folder to the
                last Claim row (billing-receiver -> validator -> redactor -> loader), CPU per
                claim per stage, and the parse rate alone (envelope check, mapping)
Every run uses its own temporary topics, subjects, consumer groups and database schema, and
removes them at the end. Bounded: each part has a record count and a time limit.

Beside each stage's rate it prints the stage's process CPU (user + system) per record, from the
stage's own counters (the services' /metrics, the pass-through stages' stats lines): on a machine
shared with other work, rates swing with the neighbours' load while CPU per record barely moves.
Under the table, for the pass-through and the end-to-end part (Linux): how busy all cores were over
the same window, the whole machine's busy CPU per record split into the pipeline's processes, the
Kafka broker, the schema registry, PostgreSQL and the rest, and the rate at which that would use up
every core (cores x 1e6 / machine µs per record).
The defaults (150,000 pass-through records; 2 sites x 4,000 patients, ~104,000 resources end to
end) run long enough for a stable figure, about 5-10 minutes in all; use smaller numbers for a
quick check (e.g. --pass-through-records 5000 --patients 100).

Options:
  --out PATH                  JSON report (default .run/bench/bench-<time>.json)
  --only LIST                 comma list of parts: broker,pass-through,end-to-end,latency,mllp,x12
  --mllp-messages N           messages for the MLLP throughput run (default 20000: shorter runs are dominated by warm-up)
  --broker-records N          records for the producer tool (default 200000)
  --x12-claims N              claims in the X12 part's 837P file, 5 per set (default 20000)
  --x12-parse-only            the X12 part measures the parse rate alone (no services)
  --pass-through-records N    records through the pass-through pipeline (default 150000)
  --patients N                patients per site for end-to-end (default 4000; 2 sites, ~13 resources each)
  --payload-bytes N           pass-through payload size; records are ~1.5 KB (default 1380)
  --max-batch N               chunk size of the pass-through stages (default 500, as the services)
  --timeout-seconds N         time limit of the pass-through and of the end-to-end part (default 900)
  --cpu-prof DIR              write V8 CPU profiles of the extractor, validator, redactor and loader of the
                              end-to-end part into DIR/<service>/ (open them in Chrome DevTools)
  --help                      this text
`;

const PARTS = ['broker', 'pass-through', 'end-to-end', 'latency', 'mllp', 'x12'] as const;
type Part = (typeof PARTS)[number];

export interface BenchReport {
  readonly command: string;
  readonly startedAt: string;
  /** `loadAverage`: the 1-minute load average when the run started and when it ended. */
  readonly machine: {
    readonly cpus: number;
    readonly node: string;
    readonly loadAverage: { readonly start: number; readonly end: number };
  };
  readonly endToEndPerSecond: number | null;
  readonly passThroughPerSecond: number | null;
  /** CPU of the four services per resource loaded (µs, user + system, summed over the stages). */
  readonly endToEndCpuMicrosPerRecord: number | null;
  /** CPU of the four pass-through stages per record (µs). */
  readonly passThroughCpuMicrosPerRecord: number | null;
  readonly brokerLimitPerSecond: number | null;
  readonly p50LatencyMs: number | null;
  readonly p99LatencyMs: number | null;
  /** end-to-end / pass-through, end-to-end / broker, pass-through / broker. */
  readonly ratios: {
    readonly endToEndToPassThrough: number | null;
    readonly endToEndToBroker: number | null;
    readonly passThroughToBroker: number | null;
  };
  readonly broker: BrokerLimitResult | null;
  readonly passThrough: PassThroughResult | null;
  readonly endToEnd: EndToEndResult | null;
  readonly mllp: MllpBenchResult | null;
  readonly x12: X12BenchResult | null;
  /** Parts that failed or were skipped, with the reason. */
  readonly notMeasured: Readonly<Record<string, string>>;
}

async function main(argv: readonly string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        out: { type: 'string' },
        only: { type: 'string' },
        'broker-records': { type: 'string', default: '200000' },
        'pass-through-records': { type: 'string', default: '150000' },
        patients: { type: 'string', default: '4000' },
        'payload-bytes': { type: 'string', default: '1380' },
        'max-batch': { type: 'string', default: '500' },
        'mllp-messages': { type: 'string', default: '20000' },
        'x12-claims': { type: 'string', default: '20000' },
        'x12-parse-only': { type: 'boolean' },
        'timeout-seconds': { type: 'string', default: '900' },
        'cpu-prof': { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${HELP}`);
    return 2;
  }
  if (values.help === true) {
    process.stdout.write(HELP);
    return 0;
  }
  const only = new Set<string>(values.only?.split(',') ?? PARTS);
  for (const part of only) {
    if (!(PARTS as readonly string[]).includes(part)) {
      process.stderr.write(`unknown part ${part}\n\n${HELP}`);
      return 2;
    }
  }
  const numbers = {
    brokerRecords: positive(values['broker-records'], '--broker-records'),
    passThroughRecords: positive(values['pass-through-records'], '--pass-through-records'),
    patients: positive(values.patients, '--patients'),
    payloadBytes: positive(values['payload-bytes'], '--payload-bytes'),
    maxBatch: positive(values['max-batch'], '--max-batch'),
    mllpMessages: positive(values['mllp-messages'], '--mllp-messages'),
    x12Claims: positive(values['x12-claims'], '--x12-claims'),
    timeoutMs: positive(values['timeout-seconds'], '--timeout-seconds') * 1000,
  };
  const startedAt = new Date();
  const { availableParallelism, loadavg } = await import('node:os');
  const loadAtStart = loadavg()[0] ?? 0;
  const out = resolve(
    values.out ??
      join(REPO_ROOT, '.run', 'bench', `bench-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`),
  );
  const runId = randomUUID().slice(0, 8);
  const logDir = join(REPO_ROOT, '.run', 'bench', `logs-${runId}`);
  const env = stackEnv();
  const say = (line: string): void => void process.stdout.write(`[bench] ${line}\n`);

  // kafkajs logs expected metadata retries of new topics as errors; failures surface as exceptions.
  const logger = createLogger({ name: 'bench', level: 'fatal', destination: process.stderr });
  const kafka = createKafka({
    brokers: env.KAFKA_BROKERS ?? '127.0.0.1:9092',
    clientId: `bench-${runId}`,
    logger,
    mode: 'development',
  });
  const admin = await connectAdmin(kafka);
  const registry = createRegistry({
    url: env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7',
  });
  const codec = createCodec(registry);
  const scratch = createScratch(admin, registry);
  const notMeasured: Record<string, string> = {};
  let broker: BrokerLimitResult | null = null;
  let passThrough: PassThroughResult | null = null;
  let endToEnd: EndToEndResult | null = null;
  let mllp: MllpBenchResult | null = null;
  let x12: X12BenchResult | null = null;

  const attempt = async <T>(part: Part, fn: () => Promise<T>): Promise<T | null> => {
    if (!only.has(part)) {
      notMeasured[part] = 'skipped (--only)';
      return null;
    }
    say(`${part}: starting`);
    const began = Date.now();
    try {
      const result = await fn();
      say(`${part}: done in ${Math.round((Date.now() - began) / 1000)} s`);
      return result;
    } catch (err) {
      notMeasured[part] = err instanceof Error ? (err.message.split('\n')[0] ?? 'failed') : 'failed';
      say(`${part}: FAILED: ${notMeasured[part]}`);
      return null;
    }
  };

  try {
    passThrough = await attempt('pass-through', () =>
      measurePassThrough({
        kafka,
        admin,
        codec,
        scratch,
        runId,
        records: numbers.passThroughRecords,
        payloadBytes: numbers.payloadBytes,
        maxBatch: numbers.maxBatch,
        partitions: 3,
        logDir,
        env: { ...env, LOG_LEVEL: 'warn' },
        timeoutMs: numbers.timeoutMs,
        onProgress: say,
      }),
    );
    broker = await attempt('broker', async () => {
      const topic = `bench.${runId}.broker`;
      await scratch.createTopics([topic], 3);
      return measureBrokerLimit({
        classpathFile: join(env.EHRFLOW_STACK_HOME ?? join(REPO_ROOT, '.run', 'stack'), 'kafka.classpath'),
        brokers: env.KAFKA_BROKERS ?? '127.0.0.1:9092',
        topic,
        records: numbers.brokerRecords,
        recordSizeBytes: passThrough?.recordBytes ?? 1500,
        timeoutMs: 120_000,
      });
    });
    endToEnd = await attempt('end-to-end', () =>
      measureEndToEnd({
        admin,
        registry,
        scratch,
        runId,
        patientsPerSite: numbers.patients,
        sites: 2,
        env,
        logDir,
        latencyRun: only.has('latency'),
        timeoutMs: numbers.timeoutMs,
        ...(values['cpu-prof'] === undefined
          ? {}
          : {
              cpuProfile: {
                dir: resolve(values['cpu-prof']),
                services: ['extractor', 'validator', 'redactor', 'loader'] as const,
              },
            }),
        onProgress: say,
      }),
    );
    mllp = await attempt('mllp', () =>
      measureMllp({ env, logger, messages: numbers.mllpMessages, senders: 10, bytes: 1024, onProgress: say }),
    );
    x12 = await attempt('x12', () =>
      measureX12({
        scratch,
        runId,
        claims: numbers.x12Claims,
        env,
        logDir,
        timeoutMs: numbers.timeoutMs,
        parseOnly: values['x12-parse-only'] === true,
        onProgress: say,
      }),
    );
  } finally {
    await scratch.cleanUp().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await registry.close().catch(() => undefined);
  }

  const ratio = (a: number | undefined, b: number | undefined): number | null =>
    a === undefined || b === undefined || b === 0 ? null : Math.round((a / b) * 1000) / 1000;
  const e2e = endToEnd?.perSecond;
  const pt = passThrough?.perSecond;
  const bl = broker?.recordsPerSecond;
  const latency = endToEnd?.latencyRun ?? endToEnd?.latency;
  const report: BenchReport = {
    command: `npm run bench -- ${argv.join(' ')}`.trim(),
    startedAt: startedAt.toISOString(),
    machine: {
      cpus: availableParallelism(),
      node: process.version,
      loadAverage: { start: round2(loadAtStart), end: round2(loadavg()[0] ?? 0) },
    },
    endToEndPerSecond: e2e ?? null,
    passThroughPerSecond: pt ?? null,
    endToEndCpuMicrosPerRecord: endToEnd?.cpu?.microsPerRecord ?? null,
    passThroughCpuMicrosPerRecord: passThrough?.cpu?.microsPerRecord ?? null,
    brokerLimitPerSecond: bl === undefined ? null : Math.round(bl),
    p50LatencyMs: latency?.p50Ms ?? null,
    p99LatencyMs: latency?.p99Ms ?? null,
    ratios: {
      endToEndToPassThrough: ratio(e2e, pt),
      endToEndToBroker: ratio(e2e, bl),
      passThroughToBroker: ratio(pt, bl),
    },
    broker,
    passThrough,
    endToEnd,
    mllp,
    x12,
    notMeasured,
  };

  process.stdout.write(`\n${renderTable(report)}\n`);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`\nreport: ${out}\n`);
  return Object.keys(notMeasured).some((k) => !notMeasured[k]?.startsWith('skipped')) ? 1 : 0;
}

/** The terminal table of a report. */
export function renderTable(report: BenchReport): string {
  const rows: string[][] = [
    ['measure', 'resources/s', 'vs pass-through', 'vs broker', 'CPU µs/record', 'peak RSS'],
  ];
  const stageRow = (s: StageFigure): string[] => [
    `  ${s.stage}`,
    formatCount(s.perSecond),
    '',
    '',
    formatMicros(s.cpu?.microsPerRecord),
    formatMb(s.peakRssBytes),
  ];
  rows.push([
    'broker limit (ProducerPerformance)',
    formatCount(report.brokerLimitPerSecond ?? undefined),
    '',
    '100.0%',
    '',
    '',
  ]);
  rows.push([
    'pass-through pipeline (4 stages)',
    formatCount(report.passThroughPerSecond ?? undefined),
    '100.0%',
    formatRatio(report.ratios.passThroughToBroker ?? undefined),
    formatMicros(report.passThroughCpuMicrosPerRecord ?? undefined),
    '',
  ]);
  for (const s of report.passThrough?.stages ?? []) rows.push(stageRow(s));
  rows.push([
    'end-to-end pipeline',
    formatCount(report.endToEndPerSecond ?? undefined),
    formatRatio(report.ratios.endToEndToPassThrough ?? undefined),
    formatRatio(report.ratios.endToEndToBroker ?? undefined),
    formatMicros(report.endToEndCpuMicrosPerRecord ?? undefined),
    '',
  ]);
  for (const s of report.endToEnd?.stages ?? []) rows.push(stageRow(s));
  if (report.endToEnd?.simulatorCpu !== undefined) {
    rows.push([
      '  (simulated EHR, in the bench process)',
      '',
      '',
      '',
      formatMicros(report.endToEnd.simulatorCpu.microsPerRecord),
      '',
    ]);
  }
  const lines = [formatTable(rows)];
  if (report.passThrough?.machine !== undefined)
    lines.push(...formatMachineCpu('pass-through', report.passThrough.machine, 'record'));
  if (report.endToEnd?.machine !== undefined)
    lines.push(...formatMachineCpu('end-to-end', report.endToEnd.machine, 'resource'));
  if (report.passThrough?.machine !== undefined || report.endToEnd?.machine !== undefined) {
    lines.push(
      'machine: /proc/stat busy CPU of all cores (user+nice+system+irq+softirq+steal) over the window of the ' +
        "part's CPU figures; broker, registry, postgres from their /proc/<pid>/stat; other = the machine less " +
        'all these (kernel threads, anything else running); the cap = cores x 1e6 / machine µs per record',
    );
  }
  const e2e = report.endToEnd;
  const gcLine = e2e === null ? undefined : formatGc(e2e.stages);
  if (gcLine !== undefined) lines.push(gcLine);
  if (e2e !== null) {
    lines.push(
      `end-to-end: ${e2e.resources} resources in ${(e2e.durationMs / 1000).toFixed(1)} s; latency extraction -> row at full speed ` +
        `p50 ${formatCount(e2e.latency.p50Ms)} ms, p99 ${formatCount(e2e.latency.p99Ms)} ms`,
    );
    if (e2e.latencyRun !== null) {
      lines.push(
        `latency run at ${formatCount(e2e.latencyRun.targetPerSecond)}/s (~50% of end-to-end): ` +
          `p50 ${formatCount(e2e.latencyRun.p50Ms)} ms, p99 ${formatCount(e2e.latencyRun.p99Ms)} ms over ${e2e.latencyRun.samples} rows`,
      );
    }
  }
  if (report.passThrough !== null) {
    lines.push(
      `pass-through: ${report.passThrough.records} records of ~${report.passThrough.recordBytes} B in ${(report.passThrough.durationMs / 1000).toFixed(1)} s`,
    );
  }
  lines.push(
    `CPU µs/record: process user + system CPU of each stage over the run / records it handled; ` +
      `load average ${report.machine.loadAverage.start} at start, ${report.machine.loadAverage.end} at end`,
  );
  if (report.mllp !== null) lines.push(...formatMllp(report.mllp));
  if (report.x12 !== null) lines.push(...formatX12(report.x12));
  for (const [part, reason] of Object.entries(report.notMeasured))
    lines.push(`not measured: ${part}: ${reason}`);
  return lines.join('\n');
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function positive(text: string | undefined, name: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${name} must be a positive integer`);
  return n;
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
