/**
 * Entry point of the product image: `<service> [args]` runs `services/<service>/src/main.ts` in
 * this process (so SIGTERM reaches the service's own handler), and the one-shot jobs run the
 * matching CLI. Services are discovered from the image's `services/` folder, not listed here.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** One-shot commands the Kubernetes Jobs run, and the CLI behind each. */
const JOBS: Record<string, { script: string; args: string[]; help: string }> = {
  'register-schemas': {
    script: 'libs/contracts/src/cli.ts',
    args: ['register', '--dir', join(ROOT, 'schemas')],
    help: 'register the contracts in schemas/ (then run register-clean-schemas)',
  },
  'register-clean-schemas': {
    script: 'services/redactor/src/cli.ts',
    args: ['register-schemas'],
    help: 'derive and register the clean (de-identified) schemas',
  },
  'create-topics': {
    script: 'deploy/topics/apply.ts',
    args: [],
    help: 'create or grow the topics of TOPICS_FILE (TLS/SASL from the KAFKA_* variables)',
  },
};

function services(): string[] {
  const dir = join(ROOT, 'services');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => existsSync(join(dir, name, 'src', 'main.ts')))
    .sort();
}

function usage(): string {
  const jobLines = Object.entries(JOBS).map(([name, job]) => `  ${name.padEnd(24)}${job.help}`);
  return [
    'Usage: <image> <service|job> [args]',
    '',
    'Services (long-running; /healthz, /readyz, /metrics on HTTP_PORT, default 8080):',
    ...services().map((name) => `  ${name}`),
    '',
    'Jobs (one-shot):',
    ...jobLines,
    `  ${'cli <service> [args]'.padEnd(24)}the operator commands of a service (e.g. cli validator replay --help)`,
    '',
    '`<image> <service> --help` lists the variables of a service.',
    '',
  ].join('\n');
}

const [command, ...rest] = process.argv.slice(2);
if (command === undefined || command === '--help' || command === '-h') {
  process.stdout.write(usage());
  process.exit(0);
}

let script: string;
let args: string[];
const job = JOBS[command];
if (job !== undefined) {
  script = join(ROOT, job.script);
  args = [...job.args, ...rest];
} else if (
  command === 'cli' &&
  rest[0] !== undefined &&
  existsSync(join(ROOT, 'services', rest[0], 'src', 'cli.ts'))
) {
  script = join(ROOT, 'services', rest[0], 'src', 'cli.ts');
  args = rest.slice(1);
} else if (services().includes(command)) {
  script = join(ROOT, 'services', command, 'src', 'main.ts');
  args = rest;
} else {
  process.stderr.write(`unknown service or job: ${JSON.stringify(command)}\n\n${usage()}`);
  process.exit(64);
}
// The service reads its own flags from process.argv, as when it is started directly.
process.argv = [process.argv[0] ?? 'node', script, ...args];
await import(pathToFileURL(script).href);
