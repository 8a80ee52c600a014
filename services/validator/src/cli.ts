/**
 * Operator commands of the validator. `node services/validator/src/cli.ts --help`.
 */
import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '@ehrflow/config';
import type { QuarantineReason } from '@ehrflow/contracts';
import { createLogger } from '@ehrflow/logging';
import { validatorEnv } from './config.ts';
import { replay, type ReplaySource } from './replay.ts';
import { buildValidator } from './service.ts';

const HELP = `Usage: node services/validator/src/cli.ts <command> [options]

Commands:
  replay     Re-process records after a contract or mapping fix (record ids are kept)
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

function usage(message: string, help: string): never {
  process.stderr.write(`${message}\n\n${help}`);
  process.exit(2);
}

/** Parses `replay` options into a source; exported for tests. */
export function parseReplayArgs(args: readonly string[]): ReplaySource | 'help' | { error: string } {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        'from-quarantine': { type: 'boolean' },
        reason: { type: 'string' },
        'raw-from-offset': { type: 'string' },
        'raw-from-time': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    return { error: err instanceof Error ? err.message : 'invalid options' };
  }
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
    const message = err instanceof Error && 'code' in err ? err.message : 'replay failed';
    process.stderr.write(`replay failed: ${code}: ${message}\n`);
    process.exit(1);
  });
}
