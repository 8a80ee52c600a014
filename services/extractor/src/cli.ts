import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { ConfigError, loadConfigOrExit } from '@ehrflow/config';
import { isPipelineError } from '@ehrflow/errors';
import { createLogger } from '@ehrflow/logging';
import { buildExtractor } from './app.ts';
import { extractorEnv } from './config.ts';
import type { StartJobRequest } from './job-manager.ts';
import type { JobView } from './job-view.ts';
import { CHECK_SOURCES_HELP, checkSources } from './check-sources.ts';
import { generateKeys, KEYS_HELP, parseKeysArgs } from './keys-command.ts';
import { loadSources } from './sources.ts';
import { startFailure } from './start-failure.ts';

const MAIN_HELP = `Usage: node services/extractor/src/cli.ts <command> [options]

Commands:
  run-job          start an extraction job (see run-job --help)
  keys generate    write a client assertion key pair and the JWKS to register (see keys --help)
  check-sources    check the sources file, discovery, a token and /metadata per source (see check-sources --help)

Options:
  -h, --help  show this help
`;

const RUN_JOB_HELP = `Usage: node services/extractor/src/cli.ts run-job --source <id> --kind <backfill|incremental> [options]

Starts one job on a configured source. With --wait the job runs in this process and a progress
line is printed until it ends (exit 0 when completed, 1 otherwise); without it the job is stored
for a running extractor service to pick up and its id is printed.

Options:
  --source <id>        source id from EXTRACTOR_SOURCES_FILE (required)
  --kind <kind>        backfill ($export) or incremental (_lastUpdated search) (required)
  --types <a,b>        resource types (default: all types of the source)
  --since <instant>    FHIR instant: _since of the export / lower _lastUpdated bound
  --wait               run here and wait for the end, printing progress
  --progress-ms <ms>   progress line interval with --wait (default 1000)
  -h, --help           show this help

Configuration comes from the same environment as the service (KAFKA_BROKERS, DATABASE_URL, ...),
TLS variables included (KAFKA_SSL*, KAFKA_SASL*, REDIS_TLS_CA, PG_SSL_CA; see main.ts --help).
A configuration problem (environment or sources file, SMART discovery included) is printed as a
list, one line per variable or source field and what was expected (never a value), and the
command exits 78.
`;

function fail(message: string, help: string): never {
  process.stderr.write(`${message}\n\n${help}`);
  process.exit(2);
}

/** One progress line: counts, rate, 429s, retries, token refreshes. Ids and counts only. */
export function progressLine(view: JobView, elapsedMs: number): string {
  const c = view.counts;
  const rate = elapsedMs > 0 ? Math.round((c.produced + c.deleted) / (elapsedMs / 1000)) : 0;
  return (
    `job ${view.id} ${view.state}: read ${c.read} produced ${c.produced} deleted ${c.deleted} errors ${c.errors}` +
    ` (${rate}/s) parts ${view.parts.done}/${view.parts.total} 429s ${c.throttled} retries ${c.retries}` +
    ` refreshes ${c.tokenRefreshes}`
  );
}

/**
 * The options of a command, or 'help' once its help is printed; an unknown or malformed option
 * fails with the command's usage.
 */
function commandOptions<O extends ParseArgsOptionsConfig>(
  command: string,
  help: string,
  args: string[],
  options: O,
) {
  let values;
  try {
    ({ values } = parseArgs({ args, options, strict: true }));
  } catch {
    return fail(`${command}: unknown or malformed option`, help);
  }
  if ((values as { help?: unknown }).help === true) {
    process.stdout.write(help);
    return 'help' as const;
  }
  return values;
}

async function runJob(args: string[]): Promise<number> {
  const values = commandOptions('run-job', RUN_JOB_HELP, args, {
    source: { type: 'string' },
    kind: { type: 'string' },
    types: { type: 'string' },
    since: { type: 'string' },
    wait: { type: 'boolean', default: false },
    'progress-ms': { type: 'string', default: '1000' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values === 'help') return 0;
  if (values.source === undefined) fail('run-job: --source is required', RUN_JOB_HELP);
  const kind: StartJobRequest['kind'] =
    values.kind === 'backfill'
      ? 'backfill'
      : values.kind === 'incremental'
        ? 'incremental'
        : fail('run-job: --kind must be backfill or incremental', RUN_JOB_HELP);
  const progressMs = Number(values['progress-ms']);
  if (!Number.isInteger(progressMs) || progressMs < 100)
    fail('run-job: --progress-ms must be an integer >= 100', RUN_JOB_HELP);

  const env = loadConfigOrExit(extractorEnv, 'extractor');
  const logger = createLogger({ name: 'extractor-cli', level: env.LOG_LEVEL });
  let extractor;
  try {
    // The one-shot runner does not take over other processes' jobs.
    extractor = await buildExtractor({ ...env, EXTRACTOR_RESUME_JOBS: false }, logger);
  } catch (err) {
    process.stderr.write(startFailure(err));
    return err instanceof ConfigError ? 78 : 1;
  }
  try {
    const request: StartJobRequest = {
      source: values.source,
      kind,
      ...(values.types === undefined ? {} : { types: values.types.split(',').map((t) => t.trim()) }),
      ...(values.since === undefined ? {} : { since: values.since }),
    };
    if (!values.wait) {
      const job = await extractor.jobs.enqueue(request);
      process.stdout.write(`${job.id}\n`);
      return 0;
    }
    extractor.jobs.run();
    const started = Date.now();
    const job = await extractor.jobs.start(request);
    process.stdout.write(`${job.id}\n`);
    const timer = setInterval(() => {
      void extractor.jobs.get(job.id).then((view) => {
        if (view !== undefined) process.stderr.write(`${progressLine(view, Date.now() - started)}\n`);
      });
    }, progressMs);
    const interrupt = (): void => {
      process.stderr.write('interrupted: the job stays resumable by a running extractor\n');
      void extractor.close().then(() => process.exit(130));
    };
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    const final = await extractor.jobs.wait(job.id);
    clearInterval(timer);
    process.stderr.write(`${progressLine(final, Date.now() - started)}\n`);
    if (final.state !== 'completed') {
      process.stderr.write(
        `job ${final.id} ended ${final.state} (reason ${final.reason ?? 'none'}, code ${final.errorCode ?? 'none'})\n`,
      );
    }
    return final.state === 'completed' ? 0 : 1;
  } catch (err) {
    // Pipeline error messages are written from codes, names and counts (never values).
    process.stderr.write(
      `run-job failed: ${isPipelineError(err) ? `${err.code}: ${err.message}` : 'INTERNAL'}\n`,
    );
    return 1;
  } finally {
    await extractor.close();
  }
}

async function keys(args: string[]): Promise<number> {
  const parsed = parseKeysArgs(args);
  if (parsed === 'help') {
    process.stdout.write(KEYS_HELP);
    return 0;
  }
  if ('error' in parsed) fail(parsed.error, KEYS_HELP);
  try {
    process.stdout.write((await generateKeys(parsed)).summary);
    return 0;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const why =
      code === 'EEXIST'
        ? 'a file of that name exists (use --force to replace it)'
        : `could not write the files (${String(code)})`;
    process.stderr.write(`keys generate: ${why}\n`);
    return 1;
  }
}

/** Only what checking sources needs: no Kafka, Redis or database variables. */
const checkEnv = extractorEnv.pick({
  EXTRACTOR_SOURCES_FILE: true,
  EXTRACTOR_HTTP_RETRIES: true,
  EXTRACTOR_RETRY_MAX_MS: true,
  EXTRACTOR_HTTP_RETRY_WINDOW_MS: true,
  LOG_LEVEL: true,
});

async function checkSourcesCommand(args: string[]): Promise<number> {
  const values = commandOptions('check-sources', CHECK_SOURCES_HELP, args, {
    source: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values === 'help') return 0;
  const env = loadConfigOrExit(checkEnv, 'extractor');
  try {
    const declared = loadSources(env.EXTRACTOR_SOURCES_FILE).filter(
      (s) => values.source === undefined || s.id === values.source,
    );
    if (declared.length === 0)
      fail(`check-sources: no source ${String(values.source)} in the sources file`, CHECK_SOURCES_HELP);
    const checks = await checkSources(declared, {
      retryPolicy: {
        retries: env.EXTRACTOR_HTTP_RETRIES,
        initialMs: Math.min(200, env.EXTRACTOR_RETRY_MAX_MS),
        factor: 2,
        maxMs: env.EXTRACTOR_RETRY_MAX_MS,
        minRetryWindowMs: env.EXTRACTOR_HTTP_RETRY_WINDOW_MS,
      },
    });
    for (const check of checks) process.stdout.write(`${check.lines.join('\n')}\n`);
    return checks.every((c) => c.ok) ? 0 : 1;
  } catch (err) {
    process.stderr.write(startFailure(err));
    return err instanceof ConfigError ? 78 : 1;
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') {
    process.stdout.write(MAIN_HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === 'run-job') return runJob(rest);
  if (command === 'keys') return keys(rest);
  if (command === 'check-sources') return checkSourcesCommand(rest);
  fail(`unknown command ${command}`, MAIN_HELP);
}

process.exitCode = await main(process.argv.slice(2));
