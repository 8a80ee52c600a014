/**
 * The fault suite's CI variant: a few short scenarios on a small dataset, on a PRIVATE stack of
 * its own (Kafka, registry, PostgreSQL, Redis on a free port block under .run/faults-ci/), since
 * the shared stack and other integration tests run beside it. Each scenario must end with nothing
 * lost, nothing doubled, every job reconciled stage by stage and no canary anywhere.
 * `npm run faults` runs the full set with the durations.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@ehrflow/testing';
import { busyPorts, privateStack, stackPorts, type PrivateStack } from './private-stack.ts';
import { describeSchedule, drawSchedule, randomScenario } from './random.ts';
import { runScenario, type RunOptions, type ScenarioRow } from './run-scenario.ts';
import type { FaultDurations } from './scenario.ts';
import { scenarioByName } from './scenarios/index.ts';

const DURATIONS: FaultDurations = {
  killPauseMs: 2_000,
  kafkaOutageMs: 10_000,
  registryOutageMs: 10_000,
  postgresOutageMs: 3_000,
  redisOutageMs: 8_000,
  linkOutageMs: 8_000,
};
/** Bound of one scenario; the test's own timeout is a little above it. */
const SCENARIO_MS = 300_000;
const dir = join(REPO_ROOT, '.run', 'faults-ci');
const lines: string[] = [];

let stack: PrivateStack | undefined;
let options: RunOptions;

function expectClean(row: ScenarioRow): void {
  // The row's own details first, so a failure says why.
  expect({ problems: row.problems, crashes: row.crashes }).toEqual({ problems: [], crashes: [] });
  expect(row.recordsIn).toBeGreaterThan(0);
  expect(row.lost).toBe(0);
  expect(row.duplicatedByRecordId).toBe(0);
  expect(row.duplicatedByKey).toBe(0);
  expect(row.rowsOut).toBe(row.recordsIn - row.quarantined);
  expect(row.reconciled).toBe(true);
  expect(row.leakHits).toBe(0);
  expect(row.passed).toBe(true);
}

describe('the pipeline while its dependencies fail (CI variant of npm run faults)', () => {
  beforeAll(async () => {
    // A port block nothing answers on, so a developer's `npm run faults` may run at the same time.
    let base = 29_100;
    while ((await busyPorts(stackPorts(base))).length > 0 && base < 31_000) base += 200;
    stack = privateStack({
      home: join(dir, `stack-${base}`),
      portBase: base,
      log: (line) => lines.push(line),
      waitSeconds: 240,
    });
    await stack.up();
    options = {
      stack,
      dir,
      sites: 1,
      patients: 10,
      paceSeconds: 20,
      durations: DURATIONS,
      seed: 'ehrflow-faults-ci',
      timeoutMs: SCENARIO_MS,
      leaseMs: 5_000,
      log: (line) => lines.push(line),
    };
  }, 420_000);

  afterAll(async () => {
    await stack?.down();
  }, 180_000);

  it(
    'kill -9 of the loader mid-load: restarted, nothing lost or doubled',
    async () => {
      expectClean(await runScenario(scenarioByName('kill-loader'), options));
    },
    SCENARIO_MS + 120_000,
  );

  it(
    'the Kafka broker stopped for 10 s: the services reconnect by themselves',
    async () => {
      const row = await runScenario(scenarioByName('kafka-down'), options);
      expectClean(row);
      expect(row.recoveryMs).not.toBeNull();
    },
    SCENARIO_MS + 120_000,
  );

  it(
    'the EHR link down for 8 s at full concurrency, the HL7 and billing feeds arriving: nothing lost or doubled',
    async () => {
      const row = await runScenario(scenarioByName('ehr-link-down'), options);
      expectClean(row);
      expect(row.feeds?.reconciled).toBe(true);
      expect(row.feeds?.hl7?.loadedRecords).toBeGreaterThan(0);
      expect(row.feeds?.billing?.loadedRecords).toBeGreaterThan(0);
    },
    SCENARIO_MS + 120_000,
  );

  // :3 cuts mid-line, duplicates, a validator killed, the billing receiver killed; :0 error entries,
  // a token revocation, PostgreSQL (and the registry with it) restarted, the MLLP receiver killed
  // meanwhile; :17 throttling with absurd Retry-After hints, a revocation and an outage.
  it.each(['ehrflow-faults-ci:3', 'ehrflow-faults-ci:0', 'ehrflow-faults-ci:17'])(
    'a random schedule from the fixed seed %s: the same invariants',
    async (seed) => {
      const schedule = drawSchedule(seed, DURATIONS, options.paceSeconds * 1000);
      // The schedule is printed (in the failure message) so a failing seed can be rerun.
      const row = await runScenario(randomScenario(schedule, 0), options);
      expect({ seed, schedule: describeSchedule(schedule), problems: row.problems }).toEqual({
        seed,
        schedule: describeSchedule(schedule),
        problems: [],
      });
      expectClean(row);
    },
    SCENARIO_MS + 120_000,
  );
});
