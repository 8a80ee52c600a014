/**
 * The canary leak scan of a pipeline run (issue 5): every log file, alert file and metrics dump,
 * every record of the listed Kafka topics, Redis keys and values, and the clean tables are
 * searched for canary identifiers planted in the synthetic input. Encrypted values must hold no
 * canary in their ciphertext and must not open with a wrong key. Reports name the canary by index
 * and the place by a PHI-free location — never the value.
 *
 * Run `node tools/pipeline/src/leak-scan.ts --help` for the command line.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from '@ehrflow/kafka';
import pg from 'pg';
import { createCodec, createRegistry } from '@ehrflow/contracts';
import { parseKeyring, type Keyring } from '@ehrflow/phi';
import { type CanaryMatcher, createCanaryMatcher } from '@ehrflow/testing';
import {
  emptyCounts,
  formatLeakReport,
  leakScanPassed,
  type LeakHit,
  type LeakReport,
} from './leak-report.ts';
import { scanFiles, scanText } from './scan-files.ts';
import { readTopics, scanKafkaRecord } from './scan-kafka.ts';
import { listTables, readTableRows, scanTableRow } from './scan-postgres.ts';
import { readRedisEntries, scanRedisEntry } from './scan-redis.ts';
import { createValueScanner, type ValueScanner } from './scan-value.ts';

export interface KafkaScanTarget {
  readonly brokers: string;
  readonly registryUrl: string;
  /** Topics to read; default every topic whose name starts with `ehr.`. */
  readonly topics?: readonly string[];
  /** Read records from this time on (epoch ms): the start of the run being checked. */
  readonly sinceMs?: number;
  readonly timeoutMs?: number;
}

export interface LeakScanOptions {
  /** The planted values. Reports refer to them by index in this list. */
  readonly canaries: readonly string[];
  /** Log files or folders (every file inside, recursively). */
  readonly logPaths?: readonly string[];
  readonly alertPaths?: readonly string[];
  /** Metrics dumps (Prometheus text) on disk. */
  readonly metricsFiles?: readonly string[];
  /** `/metrics` URLs to fetch now. */
  readonly metricsUrls?: readonly string[];
  readonly kafka?: KafkaScanTarget;
  /** Redis to SCAN with `pattern` (default `ehrflow:*`). */
  readonly redis?: { readonly url: string; readonly pattern?: string };
  /** PostgreSQL whose tables in `schemas` (default `clean`) are read row by row. */
  readonly postgres?: { readonly url: string; readonly schemas?: readonly string[] };
  /** The pipeline keyring, for the positive control (canaries found inside encrypted values). */
  readonly keyring?: Keyring;
}

/** Runs the scan over every target given. A target that cannot be read completely is reported as incomplete. */
export async function runLeakScan(options: LeakScanOptions): Promise<LeakReport> {
  const matcher = createCanaryMatcher(options.canaries);
  const scanner = createValueScanner(matcher, options.keyring);
  const hits: LeakHit[] = [];
  const scanned = emptyCounts();
  const incomplete: string[] = [];
  let encryptedValuesChecked = 0;
  let protectedMatches = 0;

  for (const [source, paths] of [
    ['log', options.logPaths],
    ['alert', options.alertPaths],
    ['metrics', options.metricsFiles],
  ] as const) {
    if (paths === undefined || paths.length === 0) continue;
    const result = await scanFiles(paths, source, matcher);
    hits.push(...result.hits);
    scanned[source] += result.files;
    for (const path of result.missing) incomplete.push(`${source}: ${path} does not exist`);
  }

  for (const url of options.metricsUrls ?? []) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      hits.push(...scanText(await res.text(), url, 'metrics', matcher));
      scanned.metrics += 1;
    } catch {
      incomplete.push(`metrics: ${url} could not be fetched`);
    }
  }

  if (options.kafka !== undefined) {
    const result = await scanKafka(options.kafka, matcher, scanner);
    hits.push(...result.hits);
    scanned.kafka += result.records;
    encryptedValuesChecked += result.encryptedChecked;
    protectedMatches += result.protectedMatches;
    for (const p of result.unfinished) incomplete.push(`kafka: ${p} not read to its end`);
  }

  if (options.redis !== undefined) {
    const redis = new Redis(options.redis.url, { lazyConnect: true, maxRetriesPerRequest: 2 });
    try {
      await redis.connect();
      for await (const entry of readRedisEntries(redis, options.redis.pattern ?? 'ehrflow:*')) {
        hits.push(...scanRedisEntry(entry, matcher, scanner));
        scanned.redis += 1;
      }
    } catch {
      incomplete.push('redis: scan failed (connection or command error)');
    } finally {
      redis.disconnect();
    }
  }

  if (options.postgres !== undefined) {
    const pool = new pg.Pool({ connectionString: options.postgres.url, max: 1 });
    try {
      const tables = await listTables(pool, options.postgres.schemas ?? ['clean']);
      if (tables.length === 0) incomplete.push('postgres: no table in the given schemas');
      for (const table of tables) {
        for await (const row of readTableRows(pool, table)) {
          hits.push(...scanTableRow(row, scanner));
          scanned.postgres += 1;
        }
      }
    } catch {
      incomplete.push('postgres: scan failed (connection or query error)');
    } finally {
      await pool.end();
    }
  }

  return { canaries: matcher.size, hits, scanned, protectedMatches, encryptedValuesChecked, incomplete };
}

async function scanKafka(
  target: KafkaScanTarget,
  matcher: CanaryMatcher,
  scanner: ValueScanner,
): Promise<{
  hits: LeakHit[];
  records: number;
  encryptedChecked: number;
  protectedMatches: number;
  unfinished: string[];
}> {
  // kafkajs directly: a test tool reading bytes, kept independent of the pipeline's own client.
  const kafka = new Kafka({
    brokers: target.brokers.split(','),
    clientId: 'ehrflow-leak-scan',
    logLevel: logLevel.NOTHING,
  });
  const registry = createRegistry({ url: target.registryUrl });
  const codec = createCodec(registry);
  const hits: LeakHit[] = [];
  let encryptedChecked = 0;
  let protectedMatches = 0;
  try {
    const topics = target.topics ?? (await pipelineTopics(kafka));
    const result = await readTopics(
      kafka,
      {
        topics,
        ...(target.sinceMs === undefined ? {} : { sinceMs: target.sinceMs }),
        ...(target.timeoutMs === undefined ? {} : { timeoutMs: target.timeoutMs }),
      },
      async (record) => {
        const outcome = await scanKafkaRecord(record, codec, scanner, matcher);
        hits.push(...outcome.hits);
        encryptedChecked += outcome.encryptedChecked;
        protectedMatches += outcome.protectedMatches;
      },
    );
    return {
      hits,
      records: result.records,
      encryptedChecked,
      protectedMatches,
      unfinished: result.unfinished,
    };
  } finally {
    await registry.close();
  }
}

async function pipelineTopics(kafka: Kafka): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.listTopics()).filter((t) => t.startsWith('ehr.')).sort();
  } finally {
    await admin.disconnect();
  }
}

const HELP = `Usage: node tools/pipeline/src/leak-scan.ts [options]

Searches the outputs of a pipeline run for canary values. Prints hits by canary index and
location, never the values. Exit 0: no hit and everything scanned; 1: hits or an incomplete
scan; 2: usage error.

Canaries (at least one):
  --canary VALUE            a canary value (repeatable)
  --canaries-file PATH      a JSON array of strings, or one value per line

Targets (any combination):
  --logs PATH               a log file or folder, scanned recursively (repeatable)
  --alerts PATH             an alert file or folder (repeatable)
  --metrics-file PATH       a metrics text dump (repeatable)
  --metrics-url URL         a /metrics endpoint to fetch (repeatable)
  --kafka                   scan Kafka topics (KAFKA_BROKERS, SCHEMA_REGISTRY_URL)
  --topics A,B              topics to scan (default: every topic named ehr.*)
  --since ISO|MS            only records written at or after this time
  --redis                   scan Redis keys and values (REDIS_URL)
  --redis-pattern GLOB      SCAN pattern (default ehrflow:*)
  --postgres                scan every row of the clean tables (DATABASE_URL)
  --pg-schema NAME          schema of the tables (repeatable; default clean)

Other:
  --keyring                 also open encrypted values with PHI_KEYRING (positive control)
  --json PATH               write the report as JSON
  --help                    this text
`;

/** The command line; returns the exit code. */
export async function leakScanCli(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        canary: { type: 'string', multiple: true },
        'canaries-file': { type: 'string' },
        logs: { type: 'string', multiple: true },
        alerts: { type: 'string', multiple: true },
        'metrics-file': { type: 'string', multiple: true },
        'metrics-url': { type: 'string', multiple: true },
        kafka: { type: 'boolean' },
        topics: { type: 'string' },
        since: { type: 'string' },
        redis: { type: 'boolean' },
        'redis-pattern': { type: 'string' },
        postgres: { type: 'boolean' },
        'pg-schema': { type: 'string', multiple: true },
        keyring: { type: 'boolean' },
        json: { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${HELP}`);
    return 2;
  }
  if (parsed.help === true) {
    process.stdout.write(HELP);
    return 0;
  }
  const canaries = [...(parsed.canary ?? [])];
  if (parsed['canaries-file'] !== undefined)
    canaries.push(...parseCanaryFile(await readFile(parsed['canaries-file'], 'utf8')));
  if (canaries.length === 0) {
    process.stderr.write(`no canaries given\n\n${HELP}`);
    return 2;
  }
  const need = (name: string): string => {
    const value = env[name];
    if (value === undefined || value === '') throw new RangeError(`${name} is not set`);
    return value;
  };
  let options: LeakScanOptions;
  try {
    const sinceMs = parsed.since === undefined ? undefined : parseSince(parsed.since);
    options = {
      canaries,
      ...(parsed.logs ? { logPaths: parsed.logs } : {}),
      ...(parsed.alerts ? { alertPaths: parsed.alerts } : {}),
      ...(parsed['metrics-file'] ? { metricsFiles: parsed['metrics-file'] } : {}),
      ...(parsed['metrics-url'] ? { metricsUrls: parsed['metrics-url'] } : {}),
      ...(parsed.kafka === true
        ? {
            kafka: {
              brokers: need('KAFKA_BROKERS'),
              registryUrl: need('SCHEMA_REGISTRY_URL'),
              ...(parsed.topics ? { topics: parsed.topics.split(',').filter((t) => t.length > 0) } : {}),
              ...(sinceMs === undefined ? {} : { sinceMs }),
            },
          }
        : {}),
      ...(parsed.redis === true
        ? { redis: { url: need('REDIS_URL'), pattern: parsed['redis-pattern'] ?? 'ehrflow:*' } }
        : {}),
      ...(parsed.postgres === true
        ? { postgres: { url: need('DATABASE_URL'), schemas: parsed['pg-schema'] ?? ['clean'] } }
        : {}),
      ...(parsed.keyring === true ? { keyring: parseKeyring(need('PHI_KEYRING')) } : {}),
    };
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  const report = await runLeakScan(options);
  process.stdout.write(`${formatLeakReport(report).join('\n')}\n`);
  if (parsed.json !== undefined) {
    await writeFile(parsed.json, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`report: ${parsed.json}\n`);
  }
  return leakScanPassed(report) ? 0 : 1;
}

/** A canaries file: a JSON array of strings, or one value per line (blank lines ignored). */
export function parseCanaryFile(text: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    const parsed: unknown = JSON.parse(trimmed);
    if (!Array.isArray(parsed) || !parsed.every((v) => typeof v === 'string')) {
      throw new RangeError('canaries file: expected a JSON array of strings');
    }
    return parsed;
  }
  return trimmed
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}

function parseSince(value: string): number {
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new RangeError('--since must be an ISO instant or epoch milliseconds');
  return ms;
}

if (import.meta.main) {
  process.exitCode = await leakScanCli(process.argv.slice(2));
}
