/**
 * Benchmark of the two write strategies: `npm run bench:loader -- [--rows N] [--batch B]`.
 * Loads N clean Observation records of ~1.8 KB (derived from the contract in schemas/fhir) into a
 * scratch schema through `loadBatch` — the same transaction the service runs (position lock,
 * merge, ledger, position update) — once as new rows and once as newer versions of the same rows,
 * and prints rows/s and CPU time per row (Node and the PostgreSQL backend) for each strategy.
 * Needs DATABASE_URL (default: the local stack). `npm run bench:loader-service` measures the whole service.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';
import {
  WRITE_MODES,
  createWriter,
  ident,
  loadBatch,
  migrate,
  tableModelOf,
  type BatchRecord,
  type TableModel,
  type WriteMode,
} from '@ehrflow/loader';
import { cleanRecord, type SchemaJson } from './clean-records.ts';
import { cleanSchemaFromContract } from '@ehrflow/loader/testing/clean-fixtures.ts';
import { TEST_DATABASE_URL, uniqueSuffix } from '@ehrflow/loader/testing/pg.ts';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '40000' },
    batch: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '3' },
    'sync-commit': { type: 'string', default: 'on' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  console.log(
    'usage: npm run bench:loader -- [--rows N (40000)] [--batch B (2000)] [--rounds R (3)] [--sync-commit on|off]',
  );
  process.exit(0);
}
const ROWS = Number(args.rows);
const BATCH = Number(args.batch);
const ROUNDS = Number(args.rounds);

/** The records of one pass, built before the clock starts: the benchmark times the loader, not the generator. */
function batches(schemaJson: SchemaJson, version: number, firstOffset: number): BatchRecord[][] {
  const out: BatchRecord[][] = [];
  let offset = firstOffset;
  for (let start = 0; start < ROWS; start += BATCH) {
    const records: BatchRecord[] = [];
    for (let i = start; i < Math.min(ROWS, start + BATCH); i++) {
      records.push({
        offset: String(offset++),
        value: cleanRecord(schemaJson, i, version),
        headers: {},
        schemaId: 1,
      });
    }
    out.push(records);
  }
  return out;
}

/** Loads ROWS new rows, then ROWS newer versions of them, into a scratch schema; rows/s of each pass. */
async function run(pool: pg.Pool, mode: WriteMode, model: TableModel, schemaJson: SchemaJson) {
  const schema = `loader_bench_${uniqueSuffix()}`;
  await migrate(pool, schema, [{ model, source: { subject: 'bench' } }]);
  const writer = createWriter(mode);
  const results: { pass: string; rowsPerSecond: number; nodeUs: number; pgUs: number | null }[] = [];
  const backend = await backendPid(pool);
  try {
    for (const [pass, version] of [
      ['insert', 1],
      ['update', 2],
    ] as const) {
      const work = batches(schemaJson, version, (version - 1) * ROWS);
      const started = process.hrtime.bigint();
      const nodeCpu = process.cpuUsage();
      const pgCpu = backendCpuMs(backend);
      for (const records of work) {
        const last = records[records.length - 1]?.offset ?? '0';
        await loadBatch(
          { pool, schema, groupId: 'bench', model, writer },
          { topic: 'bench', partition: 0, records, rejected: [], lastOffset: last },
        );
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const node = process.cpuUsage(nodeCpu);
      const pgAfter = backendCpuMs(backend);
      results.push({
        pass,
        rowsPerSecond: Math.round(ROWS / seconds),
        nodeUs: Math.round((node.user + node.system) / ROWS),
        pgUs: pgCpu === null || pgAfter === null ? null : Math.round(((pgAfter - pgCpu) * 1000) / ROWS),
      });
    }
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE`);
  }
  return results;
}

async function backendPid(pool: pg.Pool): Promise<number> {
  const res = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return res.rows[0]?.pid ?? 0;
}

/**
 * CPU time (user + system, ms) of the PostgreSQL backend serving the pool's one connection, from
 * /proc; null when the server is not on this machine. CPU time per row, unlike rows/s, does not
 * depend on what else the shared machine is doing.
 */
function backendCpuMs(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks * 10 : null;
  } catch {
    return null;
  }
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};

const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL ?? TEST_DATABASE_URL,
  // One connection, so one backend's CPU time covers the whole run.
  max: 1,
  // Lets the benchmark compare durable commits with `synchronous_commit = off`.
  options: `-c synchronous_commit=${args['sync-commit'] === 'off' ? 'off' : 'on'}`,
});
try {
  const schemaJson = cleanSchemaFromContract('Observation') as SchemaJson;
  const model = tableModelOf('Observation', schemaJson);
  const size = Buffer.byteLength(JSON.stringify(cleanRecord(schemaJson, 12345, 1)));
  console.log(
    `loader write benchmark: ${ROWS} Observation records of ~${size} bytes (JSON), batches of ${BATCH}, ` +
      `${ROUNDS} rounds (modes interleaved), synchronous_commit ${args['sync-commit']}`,
  );
  const samples = new Map<string, { rate: number[]; node: number[]; pg: number[] }>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of WRITE_MODES) {
      for (const r of await run(pool, mode, model, schemaJson)) {
        const key = `${mode}|${r.pass}`;
        const s = samples.get(key) ?? { rate: [], node: [], pg: [] };
        s.rate.push(r.rowsPerSecond);
        s.node.push(r.nodeUs);
        if (r.pgUs !== null) s.pg.push(r.pgUs);
        samples.set(key, s);
      }
    }
  }
  const rows = [...samples].map(([key, s]) => {
    const [mode, pass] = key.split('|');
    return {
      mode,
      pass,
      'median rows/s': median(s.rate),
      'min rows/s': Math.min(...s.rate),
      'max rows/s': Math.max(...s.rate),
      'node CPU µs/row': median(s.node),
      'PostgreSQL CPU µs/row': s.pg.length === 0 ? '-' : median(s.pg),
    };
  });
  console.table(rows);
  const [load1] = loadavg();
  console.log(
    `load average at the end: ${load1?.toFixed(2)} on ${cpus().length} CPUs (other work on the machine lowers rows/s, not CPU µs/row)`,
  );
} finally {
  await pool.end();
}
