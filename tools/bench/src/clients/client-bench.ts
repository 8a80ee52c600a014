/**
 * Kafka client comparison: the same pass-through (seed N records, then one consume-transform-
 * produce stage with the same chunk size) for each client, in both delivery modes, rounds
 * interleaved (A, B, A, B, …) so that load from other work on the machine falls on every client
 * alike; the medians are reported. `--crash` adds a correctness check per client and mode: the
 * stage kills itself after sending a chunk's outputs and before committing its position, is
 * started again, and the output topic is read back (read_committed) for lost and duplicated
 * records.
 *
 *   npm run bench:clients -- [--records 50000] [--bytes 1500] [--batch 500] [--rounds 3]
 *                            [--partitions 3] [--clients kafkajs,platformatic] [--crash] [--out f.json]
 *
 * Needs KAFKA_BROKERS (PLAINTEXT). Each process's CPU is its own `process.cpuUsage()`, from the
 * first chunk to the last commit, divided by the records.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { startChild } from '@ehrflow/pipeline-tools';
import { waitFor } from '@ehrflow/testing';
import { CLIENT_NAMES, type ClientName, type StageMode } from './adapter.ts';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '50000' },
    bytes: { type: 'string', default: '1500' },
    batch: { type: 'string', default: '500' },
    rounds: { type: 'string', default: '3' },
    partitions: { type: 'string', default: '3' },
    clients: { type: 'string', default: CLIENT_NAMES.join(',') },
    modes: { type: 'string', default: 'at-least-once,transactional' },
    crash: { type: 'boolean', default: false },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(`usage: npm run bench:clients -- [--records 50000] [--bytes 1500] [--batch 500] [--rounds 3]
         [--partitions 3] [--clients ${CLIENT_NAMES.join(',')}] [--modes at-least-once,transactional]
         [--crash] [--out FILE]

The same pass-through (seed, then one consume-transform-produce stage) for each Kafka client in
both delivery modes, rounds interleaved; medians of records/s and CPU µs per record. --crash adds a
kill-before-commit check per client and mode (lost and duplicated records). Needs KAFKA_BROKERS.`);
  process.exit(0);
}
const records = Number(values.records);
const bytes = Number(values.bytes);
const batch = Number(values.batch);
const rounds = Number(values.rounds);
const partitions = Number(values.partitions);
const clients = values.clients.split(',') as ClientName[];
const modes = values.modes.split(',') as StageMode[];
for (const c of clients) if (!CLIENT_NAMES.includes(c)) throw new RangeError(`unknown client ${c}`);
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const runId = Date.now().toString(36);
const logDir = await mkdtemp(join(tmpdir(), 'client-bench-'));
const stageScript = join(import.meta.dirname, 'client-stage.ts');

const kafka = new Kafka({ clientId: 'client-bench', brokers, logLevel: logLevel.ERROR });
const admin: Admin = kafka.admin();
await admin.connect();

interface Figure {
  readonly perSecond: number;
  readonly microsPerRecord: number;
  /** Records per chunk (a produce request or a transaction). */
  readonly perChunk?: number;
}
interface Run {
  readonly client: ClientName;
  readonly mode: StageMode;
  readonly round: number;
  readonly produce: Figure;
  readonly stage: Figure;
  readonly loadAvg: number;
}
interface Point {
  at: number;
  cpuSeconds: number;
  records: number;
  chunks?: number;
}

/** Runs one child to its `done` line; returns its `first` and `done` points. */
async function runChild(
  name: string,
  args: string[],
  timeoutMs: number,
): Promise<{ first: Point; done: Point }> {
  let first: Point | undefined;
  let done: Point | undefined;
  const child = await startChild({
    name,
    args: [stageScript, ...args],
    env: process.env,
    logFile: join(logDir, `${name}.log`),
    onJson: (e) => {
      const point = e as unknown as Point & { event: string };
      if (point.event === 'first' && first === undefined) first = point;
      if (point.event === 'done') done = point;
    },
  });
  try {
    await waitFor(
      () => {
        if (done !== undefined) return true;
        if (!child.running()) throw new Error(`${name} exited early; see ${logDir}`);
        return false;
      },
      { timeoutMs, intervalMs: 50, what: `${name} to finish` },
    );
  } finally {
    await child.stop(10_000);
  }
  if (first === undefined || done === undefined) throw new Error(`${name}: no first/done line`);
  return { first, done };
}

function figure(first: Point, done: Point, n: number): Figure {
  const ms = Math.max(1, done.at - first.at);
  return {
    perSecond: Math.round((n * 1000) / ms),
    microsPerRecord: Math.round(((done.cpuSeconds - first.cpuSeconds) * 1e6) / n),
    ...(done.chunks ? { perChunk: Math.round(n / done.chunks) } : {}),
  };
}

async function topicsFor(tag: string): Promise<{ input: string; output: string }> {
  const input = `clientbench.${runId}.${tag}.in`;
  const output = `clientbench.${runId}.${tag}.out`;
  await admin.createTopics({
    waitForLeaders: true,
    topics: [input, output].map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
  });
  return { input, output };
}

async function measure(client: ClientName, mode: StageMode, round: number): Promise<Run> {
  const tag = `${client}.${mode}.${round}`;
  const { input, output } = await topicsFor(tag);
  try {
    const seed = await runChild(
      `seed-${tag}`,
      ['seed', client, input, String(records), String(bytes), String(batch)],
      300_000,
    );
    const stage = await runChild(
      `stage-${tag}`,
      ['stage', client, input, output, `clientbench.${runId}.${tag}`, mode, String(batch), String(records)],
      600_000,
    );
    return {
      client,
      mode,
      round,
      produce: figure(seed.first, seed.done, records),
      stage: figure(stage.first, stage.done, records),
      loadAvg: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    };
  } finally {
    await admin.deleteTopics({ topics: [input, output] }).catch(() => undefined);
  }
}

/** Crash between send and commit, restart, read back: lost and duplicated records. */
async function crashCheck(client: ClientName, mode: StageMode): Promise<Record<string, unknown>> {
  const n = Math.min(records, 20_000);
  const tag = `${client}.${mode}.crash`;
  const groupId = `clientbench.${runId}.${tag}`;
  const { input, output } = await topicsFor(tag);
  try {
    await runChild(`seed-${tag}`, ['seed', client, input, String(n), String(bytes), String(batch)], 300_000);
    const stageArgs = ['stage', client, input, output, groupId, mode, String(batch), '0'];
    const crashing = await startChild({
      name: `crash-${tag}`,
      args: [stageScript, ...stageArgs, String(Math.floor(n / 3))],
      env: process.env,
      logFile: join(logDir, `crash-${tag}.log`),
    });
    const crashExit = await crashing.exited;
    // A supervisor restarts a crashed stage; a restart that fails again is counted and retried.
    const ends = new Map((await admin.fetchTopicOffsets(input)).map((p) => [p.partition, p.high]));
    const caughtUp = async () => {
      const [entry] = await admin.fetchOffsets({ groupId, topics: [input] });
      return (entry?.partitions ?? []).every((p) => p.offset === ends.get(p.partition));
    };
    let failedRestarts = 0;
    for (let restart = 1; ; restart++) {
      const again = await startChild({
        name: `restart-${tag}`,
        args: [stageScript, ...stageArgs],
        env: process.env,
        logFile: join(logDir, `restart-${tag}.log`),
      });
      try {
        await waitFor(
          async () => {
            if (await caughtUp()) return true;
            if (!again.running()) throw new Error('restarted stage exited');
            return false;
          },
          {
            timeoutMs: 180_000,
            intervalMs: 250,
            what: `${tag}: the restarted stage to commit the whole input`,
          },
        );
        break;
      } catch (err) {
        failedRestarts += 1;
        if (restart >= 3)
          return { client, mode, records: n, crashExit, failedRestarts, error: String(err), logs: logDir };
      } finally {
        await again.stop(10_000);
      }
    }
    const seen = await readBack(output, n);
    const unique = new Set(seen).size;
    return {
      client,
      mode,
      records: n,
      crashExit,
      failedRestarts,
      lost: n - unique,
      duplicates: seen.length - unique,
    };
  } finally {
    await admin.deleteTopics({ topics: [input, output] }).catch(() => undefined);
  }
}

/** Every record index in a topic, as a read_committed consumer sees it. */
async function readBack(topic: string, expected: number): Promise<number[]> {
  const consumer = kafka.consumer({
    groupId: `clientbench.${runId}.verify.${topic}`,
    readUncommitted: false,
  });
  const seen: number[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let lastAt = Date.now();
  await consumer.run({
    eachMessage: ({ message }) => {
      if (message.value) seen.push(Number(message.value.readBigUInt64BE(0)));
      lastAt = Date.now();
      return Promise.resolve();
    },
  });
  try {
    // The end is reached when every record was seen and nothing more arrived for 2 s (duplicates
    // of a crash come before the last original, so a bounded quiet period is enough).
    await waitFor(() => new Set(seen).size >= expected && Date.now() - lastAt > 2_000, {
      timeoutMs: 120_000,
      intervalMs: 100,
      what: `${topic} to be read back`,
    }).catch(() => undefined);
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1
    ? (s[mid] as number)
    : Math.round(((s[mid - 1] as number) + (s[mid] as number)) / 2);
}

const runs: Run[] = [];
process.stdout.write(
  `client bench: ${records} records of ${bytes} bytes, chunks of ${batch}, ${partitions} partitions, ${rounds} rounds; logs in ${logDir}\n`,
);
for (let round = 1; round <= rounds; round++) {
  for (const mode of modes) {
    for (const client of clients) {
      const run = await measure(client, mode, round);
      runs.push(run);
      process.stdout.write(`${JSON.stringify(run)}\n`);
    }
  }
}
const summary = clients.flatMap((client) =>
  modes.map((mode) => {
    const mine = runs.filter((r) => r.client === client && r.mode === mode);
    return {
      client,
      mode,
      producePerSecond: median(mine.map((r) => r.produce.perSecond)),
      produceMicrosPerRecord: median(mine.map((r) => r.produce.microsPerRecord)),
      stagePerSecond: median(mine.map((r) => r.stage.perSecond)),
      stageMicrosPerRecord: median(mine.map((r) => r.stage.microsPerRecord)),
      stagePerChunk: median(mine.map((r) => r.stage.perChunk ?? 0)),
    };
  }),
);
const crashes: Record<string, unknown>[] = [];
if (values.crash) {
  for (const mode of modes)
    for (const client of clients) {
      const result = await crashCheck(client, mode);
      crashes.push(result);
      process.stdout.write(`${JSON.stringify(result)}\n`);
    }
}
await admin.disconnect();
process.stdout.write(
  '\nclient        mode            produce/s  µs/rec  stage/s  µs/rec  rec/chunk (medians)\n',
);
for (const s of summary)
  process.stdout.write(
    `${s.client.padEnd(13)} ${s.mode.padEnd(15)} ${String(s.producePerSecond).padStart(9)} ${String(s.produceMicrosPerRecord).padStart(7)} ${String(s.stagePerSecond).padStart(8)} ${String(s.stageMicrosPerRecord).padStart(7)} ${String(s.stagePerChunk).padStart(10)}\n`,
  );
if (values.out)
  await writeFile(
    values.out,
    `${JSON.stringify({ records, bytes, batch, partitions, runs, summary, crashes }, null, 2)}\n`,
  );
