/**
 * The loader's command line: `node services/loader/src/cli.ts <command> [options]`.
 *   reconcile --job ID [--job ID ...] [--json] [--types T,..] [--topic-prefix P]   exit 0 reconciled, 1 gap, 2 usage
 *   migrate                                                          create/alter the tables, then exit
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Env } from '@ehrflow/config';
import { createCodec } from '@ehrflow/contracts';
import { isPipelineError } from '@ehrflow/errors';
import { createLogger } from '@ehrflow/logging';
import { createClients, loaderEnv } from './config.ts';
import { migrate } from './migrate.ts';
import { pipelineTopics, reconcileJobs } from './reconcile.ts';
import { formatReconcile } from './reconcile-format.ts';
import { RESOURCE_TYPES } from './resource-types.ts';
import { tableModelOf } from './table-model.ts';

/** Exit codes: 0 ok, 1 gap (or incompatible schema), 2 usage, 3 a dependency failed. */
export const EXIT = { ok: 0, gap: 1, usage: 2, failed: 3 } as const;

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  readonly env: Env;
}

const USAGE = `usage: node services/loader/src/cli.ts <command> [options]

Commands:
  reconcile   per-job counts from source to warehouse; flags any gap
  migrate     create or migrate the warehouse tables from the registered clean schemas, then exit

Options: -h, --help on any command. Configuration from the environment as for the service
(KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL, LOADER_DB_SCHEMA, ...; see main.ts --help).
Exit codes: 0 ok, 1 gap or incompatible schema, 2 usage, 3 a dependency failed.`;

const HELP: Record<string, string> = {
  reconcile: `usage: node services/loader/src/cli.ts reconcile --job ID [--job ID2 ...] [--json] [--types T1,T2] [--topic-prefix P]

Counts the job's records at every stage and compares them:
  source read (latest ehr.jobs event) − reported errors = raw produced (ehr.raw)
  = valid (ehr.valid.*) + quarantined (ehr.quarantine) ; clean (ehr.clean.*) = valid ;
  loaded (loader_ledger, upserts + deletes) = clean. The deletion topics count in valid and clean,
  and deletes must also match on their own (raw DELETEs = reported deletions = ... = tombstones).
Counts are distinct record ids filtered on jobId, read from each topic and from the database.
--json prints the result as JSON ({ reconciled, rows, byType, notes, ... }); with several --job,
{ reconciled, jobs: [...] } (one scan of the topics for all of them).
--types limits the resource types scanned (default: every contracted type); --topic-prefix replaces "ehr.".
Exit 0 when every job reconciled, 1 on any gap (or when a job is not completed).`,
  migrate: `usage: node services/loader/src/cli.ts migrate [--types T1,T2]

Reads the registered clean schema of each type (<LOADER_TOPIC_PREFIX><Type>-value), creates the
tables or adds columns for new optional fields, and exits. Exit 1 (with table, column and change)
when a schema cannot be applied.`,
};

/** Runs one command; returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help') {
    io.out(`${USAGE}\n`);
    return command === undefined ? EXIT.usage : EXIT.ok;
  }
  const help = HELP[command];
  if (help === undefined) {
    io.err(`unknown command ${command}\n\n${USAGE}\n`);
    return EXIT.usage;
  }
  let args;
  try {
    args = parseArgs({
      args: [...rest],
      options: {
        job: { type: 'string', multiple: true },
        json: { type: 'boolean', default: false },
        types: { type: 'string' },
        'topic-prefix': { type: 'string', default: 'ehr.' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    io.err(`${err instanceof Error ? err.message : String(err)}\n\n${help}\n`);
    return EXIT.usage;
  }
  if (args.help) {
    io.out(`${help}\n`);
    return EXIT.ok;
  }
  const jobs = (args.job ?? []).filter((j) => j !== '');
  if (command === 'reconcile' && jobs.length === 0) {
    io.err(`reconcile needs --job ID\n\n${help}\n`);
    return EXIT.usage;
  }
  const types =
    args.types === undefined
      ? RESOURCE_TYPES
      : args.types
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean);

  let config;
  try {
    config = loadConfig(loaderEnv, io.env);
  } catch (err) {
    io.err(`${describe(err)}\n`);
    return EXIT.usage;
  }
  // Commands write their result to stdout; logs go to stderr at warn and above.
  const logger = createLogger({
    name: 'loader-cli',
    level: 'warn',
    destination: { write: (line: string) => io.err(line) },
  });
  const clients = createClients(config, io.env, logger, 'loader-cli');
  try {
    if (command === 'migrate') {
      const targets = [];
      for (const type of types) {
        const subject = `${config.LOADER_TOPIC_PREFIX}${type}-value`;
        const latest = await clients.registry.latest(subject);
        targets.push({
          model: tableModelOf(type, latest.text, `${subject} v${latest.version}`),
          source: { subject, version: latest.version, id: latest.id },
        });
      }
      const report = await migrate(clients.pool, config.LOADER_DB_SCHEMA, targets);
      io.out(`${JSON.stringify(report, null, 2)}\n`);
      return EXIT.ok;
    }
    const results = await reconcileJobs(jobs, {
      kafka: clients.kafka,
      codec: createCodec(clients.registry),
      pool: clients.pool,
      schema: config.LOADER_DB_SCHEMA,
      topics: pipelineTopics(args['topic-prefix'], types),
    });
    const reconciled = results.every((r) => r.reconciled);
    if (args.json) {
      // One job: its result; several: { reconciled, jobs: [...] }.
      const body = results.length === 1 ? results[0] : { reconciled, jobs: results };
      io.out(`${JSON.stringify(body, null, 2)}\n`);
    } else {
      io.out(results.map(formatReconcile).join('\n'));
    }
    return reconciled ? EXIT.ok : EXIT.gap;
  } catch (err) {
    io.err(`${command} failed: ${describe(err)}\n`);
    return isPipelineError(err) && err.code === 'TABLE_INCOMPATIBLE' ? EXIT.gap : EXIT.failed;
  } finally {
    await clients.close();
  }
}

/** A PHI-free one-line description: our own messages are written without values; others by name only. */
function describe(err: unknown): string {
  if (err instanceof ConfigError)
    return `invalid configuration:\n${err.problems.map((p) => `  ${p.variable}: ${p.reason}`).join('\n')}`;
  if (isPipelineError(err)) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.name : 'unknown error';
}

if (import.meta.main) {
  const code = await runCli(process.argv.slice(2), {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    env: process.env,
  });
  process.exitCode = code;
}
