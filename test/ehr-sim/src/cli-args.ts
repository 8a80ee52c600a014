import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { ClientRegistration } from './auth.ts';
import type { FaultsInput } from './faults.ts';
import type { Canary } from './identity.ts';
import type { SimulatorOptions } from './options.ts';

/** One CLI flag: its name, value placeholder (none for switches) and help line. */
interface Flag {
  readonly name: string;
  readonly value?: string;
  readonly help: string;
  readonly multiple?: boolean;
}

/** Every flag of the CLI; the help text is generated from this list, so it cannot omit one. */
export const CLI_FLAGS: readonly Flag[] = [
  { name: 'port', value: 'n', help: 'TCP port to listen on (default 8090; 0 = any free port)' },
  { name: 'host', value: 'addr', help: 'interface to listen on (default 127.0.0.1)' },
  { name: 'seed', value: 'text', help: 'seed of all data and fault decisions (default ehrflow)' },
  { name: 'sites', value: 'a,b', help: 'comma-separated site ids (default site-a,site-b)' },
  { name: 'patients', value: 'n', help: 'patients per site (default 100)' },
  { name: 'per-patient', value: 'n', help: 'resources of each clinical type per patient (default 2)' },
  { name: 'data-epoch', value: 'instant', help: 'newest meta.lastUpdated (default 2025-01-01T00:00:00Z)' },
  { name: 'history-days', value: 'n', help: 'lastUpdated spread over this many days (default 365)' },
  {
    name: 'deleted-fraction',
    value: 'p',
    help: 'share of clinical resources that are deleted (default 0.02)',
  },
  { name: 'token-lifetime', value: 's', help: 'access token lifetime in seconds, >= 1 (default 300)' },
  { name: 'rate-limit', value: 'n', help: 'requests per window per client, 0 = unlimited (default 600)' },
  { name: 'rate-window-ms', value: 'ms', help: 'rate-limit window length (default 60000)' },
  { name: 'rate-window', value: 'fixed|sliding', help: 'rate-limit window kind (default sliding)' },
  {
    name: 'rate-published',
    value: 'n',
    help: 'limit shown in metadata and headers (default: the enforced one)',
  },
  {
    name: 'rate-retry-after-hint',
    value: 's',
    help: 'constant Retry-After on every 429 instead of the real wait (default 0: the real wait)',
  },
  { name: 'max-per-file', value: 'n', help: 'max resources per export file (default 1000)' },
  {
    name: 'polls-before-ready',
    value: 'n',
    help: 'status polls answered 202 before the manifest (default 2)',
  },
  { name: 'ready-after-ms', value: 'ms', help: 'minimum export duration (default 0)' },
  { name: 'poll-retry-after', value: 's', help: 'Retry-After on 202 status answers (default 1)' },
  {
    name: 'file-ttl-ms',
    value: 'ms',
    help: 'export files expire this long after completion (default 3600000)',
  },
  {
    name: 'faults',
    value: 'json',
    help: 'initial faults as JSON, e.g. \'{"resetProbability":0.1,"retryAfter":"http-date"}\'',
  },
  {
    name: 'canaries',
    value: 'json|@file',
    help: 'canaries as a JSON list [{"site","patientIndex","family",...}]',
  },
  {
    name: 'client',
    value: 'id:secret',
    help: 'register a client-secret client (repeatable)',
    multiple: true,
  },
  {
    name: 'client-jwks',
    value: 'id=file',
    help: 'register a client with the JWKS in a file (repeatable)',
    multiple: true,
  },
  { name: 'log', help: 'log requests as JSON to stdout (via @ehrflow/logging)' },
  { name: 'help', help: 'print this help and exit' },
];

export const HELP = [
  'Usage: node test/ehr-sim/src/cli.ts [flags]',
  '',
  'Hostile FHIR R4 EHR simulator (synthetic data only). Base URL per site: http://host:port/<site>/fhir',
  '',
  ...CLI_FLAGS.map(
    (f) => `  --${`${f.name}${f.value === undefined ? '' : ` <${f.value}>`}`.padEnd(34)} ${f.help}`,
  ),
  '',
  'Admin API: GET /_admin/counters, POST /_admin/counters/reset, GET|POST|DELETE /_admin/faults,',
  '           POST /_admin/revoke, GET|POST /_admin/clients, GET /_admin/dataset',
].join('\n');

export type CliCommand =
  | { readonly help: true }
  | { readonly help: false; readonly port: number; readonly options: SimulatorOptions };

/** Parses CLI arguments into simulator options. Throws on an unknown flag or a malformed value. */
export function parseCliArgs(argv: readonly string[]): CliCommand {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: Object.fromEntries(
      CLI_FLAGS.map(
        (f) =>
          [
            f.name,
            { type: f.value === undefined ? 'boolean' : 'string', multiple: f.multiple === true },
          ] as const,
      ),
    ),
  });
  const text = (name: string): string | undefined => {
    const v = values[name];
    return typeof v === 'string' ? v : undefined;
  };
  const list = (name: string): string[] => {
    const v = values[name];
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  };
  const number = (name: string): number | undefined => {
    const v = text(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new RangeError(`--${name} must be a number`);
    return n;
  };
  if (values.help === true) return { help: true };

  const clients: ClientRegistration[] = [
    ...list('client').map((spec) => {
      const colon = spec.indexOf(':');
      if (colon <= 0) throw new RangeError('--client must be id:secret');
      return { clientId: spec.slice(0, colon), secret: spec.slice(colon + 1) };
    }),
    ...list('client-jwks').map((spec) => {
      const eq = spec.indexOf('=');
      if (eq <= 0) throw new RangeError('--client-jwks must be id=file');
      return {
        clientId: spec.slice(0, eq),
        jwks: JSON.parse(readFileSync(spec.slice(eq + 1), 'utf8')) as ClientRegistration['jwks'],
      };
    }),
  ];
  const window = text('rate-window');
  if (window !== undefined && window !== 'fixed' && window !== 'sliding')
    throw new RangeError('--rate-window must be fixed or sliding');
  const canaries = text('canaries');
  const perPatient = number('per-patient');
  const options: SimulatorOptions = {
    seed: text('seed'),
    sites: text('sites')
      ?.split(',')
      .map((s) => s.trim()),
    patientsPerSite: number('patients'),
    resourcesPerPatient: perPatient,
    dataEpoch: text('data-epoch'),
    historyDays: number('history-days'),
    deletedFraction: number('deleted-fraction'),
    tokenLifetimeSeconds: number('token-lifetime'),
    rateLimit: {
      limit: number('rate-limit'),
      windowMs: number('rate-window-ms'),
      window,
      publishedLimit: number('rate-published'),
      retryAfterHintSeconds: number('rate-retry-after-hint'),
    },
    export: {
      maxResourcesPerFile: number('max-per-file'),
      pollsBeforeReady: number('polls-before-ready'),
      readyAfterMs: number('ready-after-ms'),
      retryAfterSeconds: number('poll-retry-after'),
      fileTtlMs: number('file-ttl-ms'),
    },
    faults: parseJson<FaultsInput>(text('faults'), '--faults') ?? {},
    canaries: parseJson<Canary[]>(
      canaries?.startsWith('@') ? readFileSync(canaries.slice(1), 'utf8') : canaries,
      '--canaries',
    ),
    clients,
    host: text('host'),
    logger: values.log === true,
  };
  return { help: false, port: number('port') ?? 8090, options: dropUndefined(options) };
}

function parseJson<T>(text: string | undefined, flag: string): T | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new RangeError(`${flag} must be valid JSON`);
  }
}

/** Removes undefined fields (one level deep into rateLimit/export) so defaults apply. */
function dropUndefined(options: SimulatorOptions): SimulatorOptions {
  const clean = <T extends object>(o: T): T =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  return clean({
    ...options,
    rateLimit: clean(options.rateLimit ?? {}),
    export: clean(options.export ?? {}),
  });
}
