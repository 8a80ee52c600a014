import { parseArgs } from 'node:util';

export interface DemoArgs {
  readonly patients: number;
  readonly sites: number;
  readonly faults: boolean;
  /** Leave the local stack running at the end (default); services and the simulator always stop. */
  readonly keepStack: boolean;
  readonly report: string | undefined;
  readonly timeoutSeconds: number;
  readonly seed: string;
  readonly help: boolean;
}

export const DEMO_HELP = `Usage: npm run demo -- [options]      (node tools/demo/src/demo.ts [options])

Runs the whole pipeline against a simulated EHR with production faults: starts the simulator and
the four services (extractor, validator, redactor, loader), backfills every site, and beside it
runs an HL7 v2 feed (mllp-receiver and three hostile senders: early resends, a drift switch, one
lying batch). Shows live progress, then prints the report (reconciliation, the HL7 feed's
received = ACKed = raw = valid + quarantined = clean = loaded, retries, 429s, token refreshes,
drift and quarantine, leak scan, throughput). Exit 0 only when every job and the feed reconcile
and the leak scan finds nothing. scripts/demo.sh starts the local stack and registers the schemas first.

Options:
  --patients N       patients per site (default 2000)
  --sites N          number of sites (default 3)
  --faults on|off    production faults (default on): a rate limit stricter than published
                     (429s), 5-second tokens, connection resets, and schema drift on Patient
                     (birthDate renamed) part way through
  --keep-stack       leave the local stack running at the end (the default)
  --stop-stack       stop Kafka and the registry started by deploy/local/stack at the end
  --report PATH      also write the report as JSON (top level: reconciled, leakScanHits, loaded)
  --timeout S        give up waiting for the pipeline after S seconds (default 900)
  --seed TEXT        simulator seed (default ehrflow-demo)
  --help             this text

Services and the simulator always stop at the end; their logs stay in .run/demo/logs/.
Each run uses fresh source ids (demo-<run>-<site>), so rows of earlier runs are left untouched.
`;

/** Parses the demo's arguments. @throws RangeError naming the bad option. */
export function parseDemoArgs(argv: readonly string[]): DemoArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      patients: { type: 'string', default: '2000' },
      sites: { type: 'string', default: '3' },
      faults: { type: 'string', default: 'on' },
      'keep-stack': { type: 'boolean' },
      'stop-stack': { type: 'boolean' },
      report: { type: 'string' },
      timeout: { type: 'string', default: '900' },
      seed: { type: 'string', default: 'ehrflow-demo' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.faults !== 'on' && values.faults !== 'off') throw new RangeError('--faults must be on or off');
  if (values['keep-stack'] === true && values['stop-stack'] === true)
    throw new RangeError('--keep-stack and --stop-stack exclude each other');
  return {
    patients: int(values.patients, '--patients', 1, 1_000_000),
    sites: int(values.sites, '--sites', 1, 26),
    faults: values.faults === 'on',
    keepStack: values['stop-stack'] !== true,
    report: values.report,
    timeoutSeconds: int(values.timeout, '--timeout', 10, 86_400),
    seed: values.seed,
    help: values.help,
  };
}

function int(text: string, name: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new RangeError(`${name} must be an integer in [${min}, ${max}]`);
  return n;
}
