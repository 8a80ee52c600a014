/**
 * `npm run faults`: the whole pipeline on a private stack while its dependencies fail, one
 * scenario at a time and from seeded random schedules. Run `node tools/faults/src/faults.ts --help`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { REPO_ROOT } from '@ehrflow/testing';
import { FAULTS_HELP, parseFaultsArgs } from './args.ts';
import { busyPorts, privateStack, stackPorts } from './private-stack.ts';
import { describeSchedule, drawSchedule, randomScenario } from './random.ts';
import { formatDetails, formatMarkdown, formatRows } from './report.ts';
import { runScenario, type ScenarioRow } from './run-scenario.ts';
import type { Scenario } from './scenario.ts';
import { SCENARIOS, scenarioByName } from './scenarios/index.ts';

async function main(argv: readonly string[]): Promise<number> {
  let args: ReturnType<typeof parseFaultsArgs>;
  try {
    args = parseFaultsArgs(argv);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${FAULTS_HELP}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(FAULTS_HELP);
    return 0;
  }
  if (args.list) {
    for (const s of SCENARIOS) process.stdout.write(`${s.name.padEnd(22)} ${s.summary}\n`);
    return 0;
  }
  const say = (line: string): void => void process.stdout.write(`[faults] ${line}\n`);
  let planned: Scenario[];
  try {
    planned = args.scenarios.map(scenarioByName);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  if (planned.length === 0 && args.random === 0 && args.randomSeeds.length === 0)
    planned = SCENARIOS.filter((s) => s.byDefault !== false);
  const windowMs = args.paceSeconds * 1000;
  const seedOf = new Map<string, string>();
  const seeds = [...Array.from({ length: args.random }, (_, i) => `${args.seed}:${i}`), ...args.randomSeeds];
  seeds.forEach((seed, i) => {
    const schedule = drawSchedule(seed, args.durations, windowMs);
    say(`random-${i}: seed ${seed}`);
    for (const line of describeSchedule(schedule)) say(`  ${line}`);
    const scenario = randomScenario(schedule, i);
    seedOf.set(scenario.name, seed);
    planned.push(scenario);
  });

  const dir = join(REPO_ROOT, '.run', 'faults');
  const stack = privateStack({
    home: resolve(args.stackHome ?? join(dir, 'stack')),
    portBase: args.portBase,
    log: (line) => say(line),
  });
  const busy = await busyPorts(stackPorts(args.portBase));
  if (busy.length > 0)
    say(
      `ports ${busy.join(', ')} already answer: reusing a private stack under ${stack.home} (or pass --port-base)`,
    );

  const abort = new AbortController();
  const onSignal = (): void => {
    if (abort.signal.aborted) return;
    abort.abort();
    say('interrupted: stopping the services and the private stack…');
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const rows: ScenarioRow[] = [];
  try {
    say(
      `private stack under ${stack.home} (Kafka ${stack.ports.kafka}, registry ${stack.ports.registry}, PostgreSQL ${stack.ports.postgres}, Redis ${stack.ports.redis})`,
    );
    await stack.up();
    for (const scenario of planned) {
      if (abort.signal.aborted) break;
      say(`${scenario.name}: ${scenario.summary}`);
      const row = await runScenario(scenario, {
        stack,
        dir,
        sites: args.sites,
        patients: args.patients,
        paceSeconds: args.paceSeconds,
        feeds: args.feeds,
        billingWaves: args.billingWaves,
        durations: args.durations,
        seed: args.seed,
        timeoutMs: args.timeoutSeconds * 1000,
        leaseMs: args.leaseMs,
        signal: abort.signal,
        log: say,
      });
      rows.push(row);
      for (const line of formatDetails([row])) say(line);
      // Written after every scenario, so a long run that is stopped still leaves its rows.
      if (args.report !== undefined) await writeReport(args.report, args.seed, rows);
      say(
        `${scenario.name}: ${row.skipped !== null ? `skipped (${row.skipped})` : row.passed ? 'pass' : 'FAIL'}`,
      );
      const seed = seedOf.get(scenario.name);
      if (!row.passed && seed !== undefined)
        say(
          `${scenario.name} failed; reproduce: npm run faults -- --random-seed ${seed} --seed ${args.seed}`,
        );
    }
  } catch (err) {
    say(`stopped: ${err instanceof Error ? (err.message.split('\n')[0] ?? '') : 'failed'}`);
  } finally {
    if (!args.keepStack) await stack.down().catch(() => say('the private stack did not stop cleanly'));
  }

  process.stdout.write(`\n${formatRows(rows)}\n\n`);
  for (const line of formatDetails(rows)) process.stdout.write(`${line}\n`);
  if (args.report !== undefined)
    process.stdout.write(`report: ${await writeReport(args.report, args.seed, rows)}\n`);
  const failed = rows.filter((r) => !r.passed);
  if (failed.length > 0) process.stdout.write(`failed: ${failed.map((r) => r.scenario).join(', ')}\n`);
  return failed.length === 0 && rows.length === planned.length ? 0 : 1;
}

/** Writes the rows (and the table in Markdown) as JSON; returns the absolute path. */
async function writeReport(file: string, seed: string, rows: readonly ScenarioRow[]): Promise<string> {
  const path = resolve(file);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify({ seed, rows, markdown: formatMarkdown(rows) }, null, 2)}\n`);
  return path;
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
  // Every process and fault is stopped by now; what may still hold the event loop (the HL7
  // senders of a scenario that timed out, retrying to their own deadline) must not keep the
  // suite running for minutes after its report. Unreferenced: a clean end exits before it.
  setTimeout(() => process.exit(), 10_000).unref();
}
