import { parseArgs } from 'node:util';
import type { FaultDurations } from './scenario.ts';

export interface FaultsArgs {
  /** Named scenarios to run (empty with `random` > 0: only the random runs; empty otherwise: all default ones). */
  readonly scenarios: readonly string[];
  /** Random runs, each a schedule drawn from `seed` and its index. */
  readonly random: number;
  readonly seed: string;
  readonly sites: number;
  readonly patients: number;
  readonly paceSeconds: number;
  /** The HL7 v2 and billing feeds beside the FHIR sites. */
  readonly feeds: boolean;
  readonly billingWaves: number;
  readonly durations: FaultDurations;
  readonly timeoutSeconds: number;
  readonly leaseMs: number;
  readonly portBase: number;
  readonly stackHome: string | undefined;
  readonly keepStack: boolean;
  readonly report: string | undefined;
  readonly list: boolean;
  readonly help: boolean;
}

export const FAULTS_HELP = `Usage: npm run faults -- [options]      (node tools/faults/src/faults.ts [options])

Runs a demo-sized pipeline (simulated EHR, extractor, validator, redactor, loader; an HL7 v2 feed
into the MLLP receiver and billing files into the billing receiver's folder) on a PRIVATE
stack (Kafka, registry, PostgreSQL and Redis of its own, on their own ports under .run/faults/stack:
the shared stack is never touched) and injects one fault per scenario while data flows. Per scenario
one row: records in, rows out, lost, duplicated (by record id and by warehouse key), reconciled,
time to recover, alerts, leak-scan hits. A scenario passes only with 0 lost, 0 duplicated, every job
reconciled stage by stage, no service crash and 0 leak hits. Exit 1 when any scenario fails.

Options:
  --scenario NAME      run this named scenario (repeatable; default: every named scenario)
  --list               list the named scenarios and exit
  --random N           also run N random schedules drawn from --seed (only these when no --scenario)
  --seed TEXT          seed of the random schedules and the simulator's data (default ehrflow-faults);
                       random run i uses the seed TEXT:i, printed with its schedule: rerun a failing
                       one with --random-seed TEXT:i
  --random-seed TEXT   run exactly the schedule of this seed (repeatable)
  --sites N            sites (default 3)
  --patients N         patients per site (default 150: about 6,600 resources with 3 sites)
  --pace S             the EHR serves the dataset over about S seconds, and the feeds arrive over
                       as long (default 90)
  --no-feeds           no HL7 v2 or billing feed (FHIR sites only)
  --billing-waves N    billing drops of 9 files each, spread over the pace (default 3)
  --kill-pause S       pause before a killed service is restarted (default 5)
  --kafka-outage S     Kafka broker stopped for S seconds (default 30)
  --registry-outage S  schema registry unreachable for S seconds (default 60)
  --postgres-outage S  PostgreSQL down for S seconds during its restart (default 10)
  --redis-outage S     Redis stopped for S seconds (default 30)
  --link-outage S      EHR link faults last S seconds: loss, latency, bandwidth, down, flapping,
                       black hole (default 30)
  --timeout S          bound of one scenario (default 900)
  --lease-ms MS        the extractor's job lease (default 10000; a killed extractor's job is taken
                       over when it expires)
  --port-base N        private stack ports: N+92 Kafka, N+93 controller, N+81 registry, N+79 Redis,
                       N+32 PostgreSQL (default 19100)
  --stack-home DIR     private stack home (default .run/faults/stack)
  --keep-stack         leave the private stack running at the end (default: stopped)
  --report FILE        also write the rows as JSON
  --help               this text

Every process the suite starts (services, Kafka, registry, Redis, PostgreSQL) is stopped by its pid
at the end, also on failure or Ctrl-C. Logs: .run/faults/runs/<scenario>-<run>/logs/.
`;

/** Parses the arguments. @throws RangeError naming the bad option. */
export function parseFaultsArgs(
  argv: readonly string[],
): FaultsArgs & { readonly randomSeeds: readonly string[] } {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      scenario: { type: 'string', multiple: true, default: [] },
      list: { type: 'boolean', default: false },
      random: { type: 'string', default: '0' },
      seed: { type: 'string', default: 'ehrflow-faults' },
      'random-seed': { type: 'string', multiple: true, default: [] },
      sites: { type: 'string', default: '3' },
      patients: { type: 'string', default: '150' },
      pace: { type: 'string', default: '90' },
      'no-feeds': { type: 'boolean', default: false },
      'billing-waves': { type: 'string', default: '3' },
      'link-outage': { type: 'string', default: '30' },
      'kill-pause': { type: 'string', default: '5' },
      'kafka-outage': { type: 'string', default: '30' },
      'registry-outage': { type: 'string', default: '60' },
      'postgres-outage': { type: 'string', default: '10' },
      'redis-outage': { type: 'string', default: '30' },
      timeout: { type: 'string', default: '900' },
      'lease-ms': { type: 'string', default: '10000' },
      'port-base': { type: 'string', default: '19100' },
      'stack-home': { type: 'string' },
      'keep-stack': { type: 'boolean', default: false },
      report: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const seconds = (v: string, name: string, min: number, max: number): number =>
    num(v, name, min, max) * 1000;
  return {
    scenarios: values.scenario,
    random: int(values.random, '--random', 0, 1000),
    seed: values.seed,
    randomSeeds: values['random-seed'],
    sites: int(values.sites, '--sites', 1, 26),
    patients: int(values.patients, '--patients', 5, 100_000),
    paceSeconds: int(values.pace, '--pace', 5, 3600),
    feeds: !values['no-feeds'],
    billingWaves: int(values['billing-waves'], '--billing-waves', 1, 20),
    durations: {
      killPauseMs: seconds(values['kill-pause'], '--kill-pause', 0, 600),
      kafkaOutageMs: seconds(values['kafka-outage'], '--kafka-outage', 1, 600),
      registryOutageMs: seconds(values['registry-outage'], '--registry-outage', 1, 600),
      postgresOutageMs: seconds(values['postgres-outage'], '--postgres-outage', 0, 600),
      redisOutageMs: seconds(values['redis-outage'], '--redis-outage', 1, 600),
      linkOutageMs: seconds(values['link-outage'], '--link-outage', 1, 600),
    },
    timeoutSeconds: int(values.timeout, '--timeout', 30, 86_400),
    leaseMs: int(values['lease-ms'], '--lease-ms', 500, 600_000),
    portBase: int(values['port-base'], '--port-base', 1024, 65_000),
    stackHome: values['stack-home'],
    keepStack: values['keep-stack'],
    report: values.report,
    list: values.list,
    help: values.help,
  };
}

function num(text: string, name: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new RangeError(`${name} must be a number in [${min}, ${max}]`);
  return n;
}

function int(text: string, name: string, min: number, max: number): number {
  const n = num(text, name, min, max);
  if (!Number.isInteger(n)) throw new RangeError(`${name} must be an integer in [${min}, ${max}]`);
  return n;
}
