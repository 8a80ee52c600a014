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
import { measureEndToEnd, type EndToEndResult } from './end-to-end.ts';
import { formatMllp, measureMllp, type MllpBenchResult } from './mllp.ts';
import { measurePassThrough, type PassThroughResult } from './pass-through.ts';
import { createScratch, formatCount, formatMb, formatRatio, formatTable } from '@ehrflow/pipeline-tools';
import { REPO_ROOT, stackEnv } from '@ehrflow/testing';

const HELP = `Usage: node tools/bench/src/bench.ts [options]   (npm run bench -- [options])

Measures, on the local stack, in this order:
  broker        Kafka's ProducerPerformance tool (JDK, acks=all, same record size)
  pass-through  four consume/decode/encode/produce stages through temporary topics
  end-to-end    extractor -> validator -> redactor -> loader over simulator data, faults off;
                then a latency run at ~50% of the measured end-to-end rate
  mllp          the MLLP receiver: durable-ACKed HL7 messages/s from 10 senders, CPU per
                message, ACK latency at half that rate (also: npm run bench:mllp)
Every run uses its own temporary topics, subjects, consumer groups and database schema, and
removes them at the end. Bounded: each part has a record count and a time limit.

Options:
  --out PATH                  JSON report (default .run/bench/bench-<time>.json)
  --only LIST                 comma list of parts: broker,pass-through,end-to-end,latency,mllp
  --mllp-messages N           messages for the MLLP throughput run (default 6000)
  --broker-records N          records for the producer tool (default 200000)
  --pass-through-records N    records through the pass-through pipeline (default 30000)
  --patients N                patients per site for end-to-end (default 300; 2 sites)
  --payload-bytes N           pass-through payload size; records are ~1.5 KB (default 1380)
  --max-batch N               chunk size of the pass-through stages (default 500, as the services)
  --help                      this text
`;

const PARTS = ['broker', 'pass-through', 'end-to-end', 'latency', 'mllp'] as const;
type Part = (typeof PARTS)[number];

export interface BenchReport {
  readonly command: string;
  readonly startedAt: string;
  readonly machine: { readonly cpus: number; readonly node: string };
  readonly endToEndPerSecond: number | null;
  readonly passThroughPerSecond: number | null;
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
        'pass-through-records': { type: 'string', default: '30000' },
        patients: { type: 'string', default: '300' },
        'payload-bytes': { type: 'string', default: '1380' },
        'max-batch': { type: 'string', default: '500' },
        'mllp-messages': { type: 'string', default: '6000' },
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
  };
  const startedAt = new Date();
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
        timeoutMs: 180_000,
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
        timeoutMs: 300_000,
        onProgress: say,
      }),
    );
    mllp = await attempt('mllp', () =>
      measureMllp({ env, logger, messages: numbers.mllpMessages, senders: 10, bytes: 1024, onProgress: say }),
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
    machine: { cpus: (await import('node:os')).availableParallelism(), node: process.version },
    endToEndPerSecond: e2e ?? null,
    passThroughPerSecond: pt ?? null,
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
  const rows: string[][] = [['measure', 'resources/s', 'vs pass-through', 'vs broker', 'peak RSS']];
  rows.push([
    'broker limit (ProducerPerformance)',
    formatCount(report.brokerLimitPerSecond ?? undefined),
    '',
    '100.0%',
    '',
  ]);
  rows.push([
    'pass-through pipeline (4 stages)',
    formatCount(report.passThroughPerSecond ?? undefined),
    '100.0%',
    formatRatio(report.ratios.passThroughToBroker ?? undefined),
    '',
  ]);
  for (const s of report.passThrough?.stages ?? [])
    rows.push([`  ${s.stage}`, formatCount(s.perSecond), '', '', formatMb(s.peakRssBytes)]);
  rows.push([
    'end-to-end pipeline',
    formatCount(report.endToEndPerSecond ?? undefined),
    formatRatio(report.ratios.endToEndToPassThrough ?? undefined),
    formatRatio(report.ratios.endToEndToBroker ?? undefined),
    '',
  ]);
  for (const s of report.endToEnd?.stages ?? [])
    rows.push([`  ${s.stage}`, formatCount(s.perSecond), '', '', formatMb(s.peakRssBytes)]);
  const lines = [formatTable(rows)];
  const e2e = report.endToEnd;
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
  if (report.mllp !== null) lines.push(...formatMllp(report.mllp));
  for (const [part, reason] of Object.entries(report.notMeasured))
    lines.push(`not measured: ${part}: ${reason}`);
  return lines.join('\n');
}

function positive(text: string | undefined, name: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${name} must be a positive integer`);
  return n;
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
