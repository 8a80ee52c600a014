/**
 * Operator commands of the validator. `node services/validator/src/cli.ts --help`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { kafkaTls, loadConfigOrExit } from '@ehrflow/config';
import {
  BASELINES_DIR,
  contractOf,
  createCodec,
  createRegistry,
  findSchemasDir,
  type Contract,
  type QuarantineReason,
} from '@ehrflow/contracts';
import { parseKeyring } from '@ehrflow/phi';
import { RESOURCE_TYPES } from '@ehrflow/contracts/manifest';
import { createLogger } from '@ehrflow/logging';
import { createStageKafka, logTransportWarning } from '@ehrflow/service';
import { validatorEnv } from './config.ts';
import { learnBaseline } from './baseline.ts';
import { coverageOf } from './coverage.ts';
import { replay, type ReplaySource } from './replay.ts';
import { buildValidator } from './service.ts';

const HELP = `Usage: node services/validator/src/cli.ts <command> [options]

Commands:
  replay     Re-process records after a contract or mapping fix (record ids are kept)
  baseline   Learn a source's fill-rate baseline from its valid records (also: npm run schemas -- baseline)
  coverage   List the elements a source sends that no contract carries (also: npm run schemas -- coverage)
  help       This text

Run "node services/validator/src/cli.ts <command> --help" for a command's options.
Configuration comes from the environment, as for main.ts (KAFKA_BROKERS, SCHEMA_REGISTRY_URL,
PHI_KEYRING, PSEUDONYM_KEY, VALIDATOR_* topic names).
`;

const REPLAY_HELP = `Usage: node services/validator/src/cli.ts replay <source>

Sources (exactly one):
  --from-quarantine [--reason R]   every record in the quarantine topic (optionally one reason:
                                   parse_error, missing_required, type_mismatch, unknown_resource_type,
                                   no_contract, too_large, contract_violation, decrypt_failed,
                                   schema_mismatch)
  --raw-from-offset P:O            the raw topic, partition P from offset O to its end
  --raw-from-time ISO              the raw topic, every partition from the first record at or after ISO

Reads up to the end of the source as of the start, validates with the latest registered
contracts, produces to ehr.valid.<Type> / ehr.quarantine (replayCount + 1) / ehr.drift, prints
counts as JSON and exits 0; 2 on a usage error, 1 on failure.
`;

const BASELINE_HELP = `Usage: npm run schemas -- baseline --source S [--types T1,T2] [--write] [--dir D]
       (or node services/validator/src/cli.ts baseline ...)

Proposes each field's expected fill rate for source S from what it actually sent: reads every
ehr.valid.<Type> topic (VALIDATOR_VALID_TOPIC_PREFIX) to its end, counts the records of S and
how many carry each contract field (presence only: nothing is decrypted, no value is printed),
and prints, per type and field, the learned rate next to the contract's fillRate.
--write saves the proposal as <dir>/S.json (default schemas/baselines/): review it and commit it
to accept it; the validator then compares S with it (VALIDATOR_FILL_RATE_EXPECTED=baseline) and
stops sending S's baseline_needed notice.
Environment: KAFKA_BROKERS (default 127.0.0.1:9092), SCHEMA_REGISTRY_URL (default the local
stack), KAFKA_SSL* / KAFKA_SASL* as for the services.
Exit codes: 0 ok, 1 failure or no record of S, 2 usage.
`;

/** Parses `baseline` options; exported for tests. */
export function parseBaselineArgs(
  args: readonly string[],
):
  | { source: string; types: string[] | undefined; write: boolean; dir: string | undefined }
  | 'help'
  | { error: string } {
  const parsed = parseOptions(args, {
    source: { type: 'string' },
    types: { type: 'string' },
    write: { type: 'boolean' },
    dir: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (parsed.error !== undefined) return { error: parsed.error };
  const { values } = parsed;
  if (values.help) return 'help';
  if (values.source === undefined || !/^[A-Za-z0-9._-]{1,64}$/.test(values.source))
    return { error: '--source takes a configured source id' };
  const types = values.types
    ?.split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  return { source: values.source, types, write: values.write === true, dir: values.dir };
}

async function baselineCommand(rest: readonly string[]): Promise<void> {
  const parsed = parseBaselineArgs(rest);
  if (parsed === 'help') {
    process.stdout.write(BASELINE_HELP);
    return;
  }
  if ('error' in parsed) usage(parsed.error, BASELINE_HELP);
  const env = process.env;
  const { kafka, registry } = commandClients('baseline', env);
  try {
    const { baseline, rates } = await learnBaseline(
      { kafka, codec: createCodec(registry) },
      {
        source: parsed.source,
        resourceTypes: parsed.types ?? [...RESOURCE_TYPES],
        validTopicPrefix: env.VALIDATOR_VALID_TOPIC_PREFIX ?? 'ehr.valid.',
      },
    );
    const types = Object.keys(baseline.records);
    if (types.length === 0) {
      process.stderr.write(`no valid record of source ${parsed.source} found; nothing to learn\n`);
      process.exitCode = 1;
      return;
    }
    const rows = rates.map((r) => [
      r.resourceType,
      r.field,
      r.learned.toFixed(3),
      r.contract === null ? '-' : r.contract.toFixed(2),
    ]);
    const widths = [0, 1, 2, 3].map((i) =>
      Math.max(...[['TYPE', 'FIELD', 'LEARNED', 'CONTRACT'], ...rows].map((r) => (r[i] ?? '').length)),
    );
    for (const row of [['TYPE', 'FIELD', 'LEARNED', 'CONTRACT'], ...rows])
      process.stdout.write(`${row.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}\n`);
    process.stdout.write(`\nlearned from ${types.map((t) => `${baseline.records[t]} ${t}`).join(', ')}\n`);
    if (parsed.write) {
      const dir = parsed.dir ?? join(findSchemasDir(), BASELINES_DIR);
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `${parsed.source}.json`);
      writeFileSync(file, `${JSON.stringify(baseline, null, 2)}\n`);
      process.stdout.write(`wrote ${file}: review and commit it to accept the baseline\n`);
    }
  } finally {
    await registry.close();
  }
}

const COVERAGE_HELP = `Usage: npm run schemas -- coverage --source S [--since ISO] [--json]
       (or node services/validator/src/cli.ts coverage ...)

Lists, per resource type, the FHIR elements source S sends that no contract field carries, with
how many of its records had each: element paths and counts, never a value. Reads the raw topic
(VALIDATOR_RAW_TOPIC, default ehr.raw) to its end, from --since (extraction time) when given,
decrypting each payload of S in memory only (PHI_KEYRING), and compares with the latest
registered contracts. Elements a contract leaves out on purpose are declared in it (record
attribute "dropped": element path prefixes), so only what is new is listed.
Environment: KAFKA_BROKERS, SCHEMA_REGISTRY_URL, PHI_KEYRING, VALIDATOR_RAW_TOPIC,
VALIDATOR_VALID_TOPIC_PREFIX. Exit codes: 0 ok, 1 failure or no record of S, 2 usage.
`;

async function coverageCommand(rest: readonly string[]): Promise<void> {
  const parsed = parseOptions(rest, {
    source: { type: 'string' },
    since: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (parsed.error !== undefined) usage(parsed.error, COVERAGE_HELP);
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(COVERAGE_HELP);
    return;
  }
  if (values.source === undefined || !/^[A-Za-z0-9._-]{1,64}$/.test(values.source))
    usage('--source takes a configured source id', COVERAGE_HELP);
  const sinceMs = values.since === undefined ? undefined : Date.parse(values.since);
  if (sinceMs !== undefined && Number.isNaN(sinceMs)) usage('--since takes an ISO 8601 time', COVERAGE_HELP);
  const env = process.env;
  if (env.PHI_KEYRING === undefined) usage('PHI_KEYRING is required to read the raw payloads', COVERAGE_HELP);
  const { kafka, registry } = commandClients('coverage', env);
  try {
    const codec = createCodec(registry);
    const validPrefix = env.VALIDATOR_VALID_TOPIC_PREFIX ?? 'ehr.valid.';
    const contracts = new Map<string, Contract>();
    for (const type of RESOURCE_TYPES) {
      const latest = await codec.latestVersion(`${validPrefix}${type}-value`).catch(() => undefined);
      if (latest !== undefined)
        contracts.set(type, contractOf(latest.text, `${latest.subject} v${latest.version}`));
    }
    const report = await coverageOf(
      { kafka, codec, keyring: parseKeyring(env.PHI_KEYRING), contracts },
      {
        source: values.source,
        rawTopic: env.VALIDATOR_RAW_TOPIC ?? 'ehr.raw',
        ...(sinceMs === undefined ? {} : { sinceMs }),
      },
    );
    if (report.types.length === 0) {
      process.stderr.write(`no raw record of source ${values.source} found\n`);
      process.exitCode = 1;
      return;
    }
    if (values.json === true) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    for (const t of report.types) {
      const what = t.contracted
        ? `${t.uncovered.length} element(s) no contract field carries`
        : 'no contract';
      process.stdout.write(`${t.resourceType}: ${t.records} record(s), ${what}\n`);
      for (const u of t.uncovered) process.stdout.write(`  ${String(u.records).padStart(7)}  ${u.path}\n`);
    }
  } finally {
    await registry.close();
  }
}

const REASONS: readonly QuarantineReason[] = [
  'parse_error',
  'missing_required',
  'type_mismatch',
  'unknown_resource_type',
  'no_contract',
  'too_large',
  'contract_violation',
  'decrypt_failed',
  'schema_mismatch',
];

/**
 * The Kafka client and registry of a read-only command, on the services' Kafka transport
 * (`KAFKA_SSL*`, `KAFKA_SASL*`, its warning logged once), the local stack's addresses by default.
 */
function commandClients(command: string, env: NodeJS.ProcessEnv) {
  const logger = createLogger({ name: `validator-${command}`, level: env.LOG_LEVEL ?? 'warn' });
  const transport = kafkaTls(env);
  logTransportWarning(logger, transport.warning);
  const settings = {
    KAFKA_BROKERS: (env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    EHRFLOW_MODE: env.EHRFLOW_MODE === 'production' ? ('production' as const) : ('development' as const),
  };
  return {
    kafka: createStageKafka(settings, { logger, defaultClientId: `ehrflow-${command}`, transport }),
    registry: createRegistry({ url: env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7' }),
  };
}

/**
 * The options of a command (`--help` among them), or the parser's complaint: an unknown option, a
 * missing value, a flag given a value.
 */
function parseOptions<O extends ParseArgsOptionsConfig>(args: readonly string[], options: O) {
  try {
    return { values: parseArgs({ args: [...args], options, strict: true }).values };
  } catch (err) {
    return { error: err instanceof Error ? err.message : 'invalid options' };
  }
}

function usage(message: string, help: string): never {
  process.stderr.write(`${message}\n\n${help}`);
  process.exit(2);
}

/** Parses `replay` options into a source; exported for tests. */
export function parseReplayArgs(args: readonly string[]): ReplaySource | 'help' | { error: string } {
  const parsed = parseOptions(args, {
    'from-quarantine': { type: 'boolean' },
    reason: { type: 'string' },
    'raw-from-offset': { type: 'string' },
    'raw-from-time': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (parsed.error !== undefined) return { error: parsed.error };
  const { values } = parsed;
  if (values.help) return 'help';
  const chosen = [values['from-quarantine'], values['raw-from-offset'], values['raw-from-time']].filter(
    (v) => v !== undefined,
  );
  if (chosen.length !== 1)
    return { error: 'choose exactly one of --from-quarantine, --raw-from-offset, --raw-from-time' };
  if (values.reason !== undefined && !values['from-quarantine'])
    return { error: '--reason applies to --from-quarantine' };
  if (values['from-quarantine']) {
    const reason = values.reason;
    if (reason === undefined) return { kind: 'quarantine' };
    if (!REASONS.includes(reason as QuarantineReason)) return { error: `unknown reason ${reason}` };
    return { kind: 'quarantine', reason: reason as QuarantineReason };
  }
  if (values['raw-from-offset'] !== undefined) {
    const match = /^(\d+):(\d+)$/.exec(values['raw-from-offset']);
    if (!match) return { error: '--raw-from-offset takes P:O, e.g. 0:1200' };
    return { kind: 'raw-offset', partition: Number(match[1]), offset: match[2] as string };
  }
  const since = new Date(values['raw-from-time'] ?? '');
  if (Number.isNaN(since.getTime())) return { error: '--raw-from-time takes an ISO 8601 time' };
  return { kind: 'raw-time', since };
}

async function main(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(HELP);
    return;
  }
  if (command === 'baseline') return baselineCommand(rest);
  if (command === 'coverage') return coverageCommand(rest);
  if (command !== 'replay') usage(`unknown command ${command}`, HELP);
  const source = parseReplayArgs(rest);
  if (source === 'help') {
    process.stdout.write(REPLAY_HELP);
    return;
  }
  if ('error' in source) usage(source.error, REPLAY_HELP);
  const config = loadConfigOrExit(validatorEnv, 'validator replay');
  const logger = createLogger({ name: 'validator-replay', level: config.LOG_LEVEL });
  const parts = await buildValidator({ config, logger, clientId: 'ehrflow-validator-replay' });
  try {
    const result = await replay(parts, source);
    await parts.monitor.stop();
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await parts.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    const code = err instanceof Error && 'code' in err ? String((err as { code: unknown }).code) : 'ERROR';
    const message = err instanceof Error && 'code' in err ? err.message : 'failed';
    process.stderr.write(`${process.argv[2] ?? 'command'} failed: ${code}: ${message}\n`);
    process.exit(1);
  });
}
