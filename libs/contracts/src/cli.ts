import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { isPipelineError, type PipelineError } from '@ehrflow/errors';
import { changeTable, reportDetails, summaryRow, SUMMARY_HEADERS, table } from './cli-format.ts';
import { diffSchemas } from './diff.ts';
import { loadSchemaSet, type SchemaSet, type SubjectSchema } from './load.ts';
import { createRegistry, type SchemaRegistry } from './registry.ts';
import { checkSubject, registerSubject, type SubjectReport } from './schema-check.ts';
import { GENERATED_GROUPS, GEN_COMMAND, generateTypes, generatedFilePath } from './typegen.ts';
import { buildPipelineManifest, generateManifestSource, manifestFilePath } from './manifest.ts';

/** Registry of the local stack (deploy/local/stack), used when SCHEMA_REGISTRY_URL is not set. */
export const DEFAULT_REGISTRY_URL = 'http://127.0.0.1:8081/apis/ccompat/v7';

/** Exit codes of the schema CLI. */
export const EXIT = { ok: 0, invalid: 1, usage: 2, unreachable: 3 } as const;

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

const USAGE = `usage: npm run schemas -- <command> [options]

Commands:
  check     parse local schemas, diff them against the registry and judge compatibility
  register  set each subject's compatibility level and register changed schemas
  list      list subjects, their files and registered versions
  diff      show the changes between a subject's registered version and its file
  gen       generate TypeScript types and the pipeline manifest from the schemas
  baseline  learn a source's fill-rate baseline from its valid records (the validator's command,
            through npm run schemas: npm run schemas -- baseline --help)
  coverage  list the elements a source sends that no contract carries (the validator's command:
            npm run schemas -- coverage --help)

Common options:
  --dir <path>   the schemas/ directory (default: found by walking up from this package)
  -h, --help     help for a command

Environment: SCHEMA_REGISTRY_URL (default ${DEFAULT_REGISTRY_URL}).
Exit codes: 0 ok, 1 incompatible or invalid, 2 usage, 3 registry unreachable.`;

const HELP: Record<string, string> = {
  check: `usage: npm run schemas -- check [--subject S] [--offline] [--dir D]

Parses every schemas/<group>/*.avsc and schemas/subjects.json (a parse error names the file), then
for each subject diffs the file against the latest registered version and judges compatibility
under the subject's level: the registry's verdict when it uses the manifest level, otherwise a
local evaluation with Avro schema resolution. Exits 1 with a diff table when a subject is
incompatible. --offline skips the registry (local parse and contract checks only).`,
  register: `usage: npm run schemas -- register [--subject S] [--dry-run] [--dir D]

For each subject of schemas/subjects.json: sets its compatibility level from the manifest
(default BACKWARD_TRANSITIVE), then registers the file when it differs from the latest version.
Idempotent. Prints subject, action, version and id. --dry-run changes nothing. Exits 1 when the
registry refuses a schema as incompatible.`,
  list: `usage: npm run schemas -- list [--dir D]

Lists the subjects of schemas/subjects.json with their file, level and latest registered version,
and the schema files no subject maps.`,
  diff: `usage: npm run schemas -- diff --subject S [--dir D]

Shows each change between the subject's latest registered version and its local file, with the
compatibility rule it touches.`,
  gen: `usage: npm run schemas -- gen [--check] [--dir D]

Writes TypeScript types for the schema groups ${GENERATED_GROUPS.join(', ')} into
libs/contracts/src/generated/<group>.ts, and the pipeline manifest (resource types, topics,
subjects, PHI classes; derived from schemas/fhir/*.avsc) into libs/contracts/src/generated/manifest.ts,
which services, the simulator, the tests and the topic list import. --check writes nothing and
exits 1 when a file is stale.`,
};

const COMMON = { dir: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;
const OPTIONS = {
  check: { ...COMMON, subject: { type: 'string' }, offline: { type: 'boolean' } },
  register: { ...COMMON, subject: { type: 'string' }, 'dry-run': { type: 'boolean' } },
  list: { ...COMMON },
  diff: { ...COMMON, subject: { type: 'string' } },
  gen: { ...COMMON, check: { type: 'boolean' } },
} as const;

type Command = keyof typeof OPTIONS;

interface Args {
  readonly dir?: string;
  readonly subject?: string;
  readonly offline?: boolean;
  readonly 'dry-run'?: boolean;
  readonly check?: boolean;
}

class UsageError extends Error {}

/**
 * Runs the schema CLI. Returns the exit code instead of exiting, so tests can run it in-process.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.out(USAGE);
    return command === undefined ? EXIT.usage : EXIT.ok;
  }
  if (!(command in OPTIONS)) {
    io.err(`unknown command: ${command}\n\n${USAGE}`);
    return EXIT.usage;
  }
  const cmd = command as Command;
  let args: Args & { help?: boolean };
  try {
    // The per-command option tables only declare string and boolean options, as Args does.
    args = parseArgs({ args: [...rest], options: OPTIONS[cmd], strict: true, allowPositionals: false })
      .values as Args;
  } catch (err) {
    io.err(`${err instanceof Error ? err.message : String(err)}\n\n${HELP[cmd]}`);
    return EXIT.usage;
  }
  if (args.help === true) {
    io.out(HELP[cmd] ?? USAGE);
    return EXIT.ok;
  }

  let registry: SchemaRegistry | undefined;
  const connect = (): SchemaRegistry => {
    registry ??= createRegistry({ url: io.env.SCHEMA_REGISTRY_URL ?? DEFAULT_REGISTRY_URL });
    return registry;
  };
  try {
    const set = loadSchemaSet(args.dir === undefined ? {} : { dir: args.dir });
    switch (cmd) {
      case 'check':
        return await check(set, args, io, connect);
      case 'register':
        return await register(set, args, io, connect());
      case 'list':
        return await list(set, io, connect());
      case 'diff':
        return await diff(set, args, io, connect());
      case 'gen':
        return await gen(set, args, io);
      default:
        return assertNever(cmd);
    }
  } catch (err) {
    return reportFailure(err, cmd, io);
  } finally {
    await registry?.close();
  }
}

async function check(set: SchemaSet, args: Args, io: CliIo, connect: () => SchemaRegistry): Promise<number> {
  const entries = selectSubjects(set, args.subject);
  io.out(`parsed ${set.files.length} schema file(s) in ${set.dir}`);
  warnUnclassified(set, io);
  if (args.offline === true) {
    io.out(
      `offline: ${entries.length} subject(s) parse and their contracts are valid; registry not consulted`,
    );
    return EXIT.ok;
  }
  const registry = connect();
  const reports: SubjectReport[] = [];
  for (const entry of entries) reports.push(await checkSubject(registry, entry));
  io.out(`registry ${registry.url}\n\n${table(SUMMARY_HEADERS, reports.map(summaryRow))}`);
  for (const r of reports.filter((x) => x.status === 'changed')) io.out(`\n${reportDetails(r)}`);
  listUnmapped(set, io);
  const broken = reports.filter((r) => !r.compatible);
  if (broken.length > 0) {
    io.err(`\nincompatible: ${broken.map((r) => r.subject).join(', ')}`);
    return EXIT.invalid;
  }
  return EXIT.ok;
}

async function register(set: SchemaSet, args: Args, io: CliIo, registry: SchemaRegistry): Promise<number> {
  const dryRun = args['dry-run'] === true;
  const rows: string[][] = [];
  const refused: string[] = [];
  for (const entry of selectSubjects(set, args.subject)) {
    try {
      const o = await registerSubject(registry, entry, { dryRun });
      const level =
        o.levelChange === undefined ? entry.compatibility : `${o.levelChange.from} → ${o.levelChange.to}`;
      const version = o.version === undefined ? '-' : `v${o.version}`;
      const verdict = o.action === 'would_register' && !o.report.compatible ? ' (INCOMPATIBLE)' : '';
      rows.push([
        o.subject,
        `${o.action.replace('_', ' ')}${verdict}`,
        version,
        o.id === undefined ? '-' : String(o.id),
        level,
      ]);
      if (o.action === 'would_register' && !o.report.compatible) refused.push(reportDetails(o.report));
    } catch (err) {
      if (!isPipelineError(err) || err.code !== 'SCHEMA_INCOMPATIBLE') throw err;
      rows.push([entry.subject, 'REFUSED (incompatible)', '-', '-', entry.compatibility]);
      const report = await checkSubject(registry, entry);
      refused.push(`${err.message}\n${reportDetails(report)}`);
    }
  }
  io.out(
    `${dryRun ? 'dry run against' : 'registry'} ${registry.url}\n\n${table(['SUBJECT', 'ACTION', 'VERSION', 'ID', 'LEVEL'], rows)}`,
  );
  for (const r of refused) io.err(`\n${r}`);
  return refused.length > 0 ? EXIT.invalid : EXIT.ok;
}

async function list(set: SchemaSet, io: CliIo, registry: SchemaRegistry): Promise<number> {
  const rows: string[][] = [];
  let unreachable: PipelineError | undefined;
  for (const entry of set.subjects) {
    let registered = '?';
    if (unreachable === undefined) {
      try {
        const versions = await registry.versions(entry.subject).catch((err: unknown) => {
          if (isPipelineError(err) && err.code === 'SCHEMA_NOT_REGISTERED') return [];
          throw err;
        });
        const last = versions[versions.length - 1];
        registered = last === undefined ? 'not registered' : `v${last} of ${versions.length}`;
      } catch (err) {
        if (!isPipelineError(err) || err.code !== 'REGISTRY_UNAVAILABLE') throw err;
        unreachable = err;
      }
    }
    rows.push([entry.subject, entry.schema.file, entry.compatibility, registered]);
  }
  io.out(table(['SUBJECT', 'FILE', 'LEVEL', 'REGISTERED'], rows));
  listUnmapped(set, io);
  if (unreachable !== undefined) {
    io.err(`\n${unreachable.message}`);
    return EXIT.unreachable;
  }
  return EXIT.ok;
}

async function diff(set: SchemaSet, args: Args, io: CliIo, registry: SchemaRegistry): Promise<number> {
  if (args.subject === undefined) throw new UsageError('diff needs --subject');
  const entry = selectSubjects(set, args.subject)[0];
  if (entry === undefined) throw new UsageError(`unknown subject ${args.subject}`);
  let latest;
  try {
    latest = await registry.latest(entry.subject);
  } catch (err) {
    if (!isPipelineError(err) || err.code !== 'SCHEMA_NOT_REGISTERED') throw err;
    io.out(`${entry.subject} is not registered yet: ${entry.schema.file} would be its first version`);
    return EXIT.ok;
  }
  const changes = diffSchemas(latest.text, entry.schema.json, { subject: entry.subject });
  io.out(`${entry.subject}: v${latest.version} (id ${latest.id}) → ${entry.schema.file}\n`);
  io.out(changes.length > 0 ? changeTable(changes, entry.compatibility) : 'no field-level changes');
  return EXIT.ok;
}

async function gen(set: SchemaSet, args: Args, io: CliIo): Promise<number> {
  const stale: string[] = [];
  const outputs: [string, string][] = GENERATED_GROUPS.map((group) => [
    generatedFilePath(group),
    generateTypes(set, group),
  ]);
  outputs.push([manifestFilePath(), await formatManifestSource(set)]);
  for (const [path, text] of outputs) {
    const current = readIfExists(path);
    const shown = relative(process.cwd(), path);
    if (current === text) {
      io.out(`${shown}: up to date`);
    } else if (args.check === true) {
      stale.push(shown);
    } else {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
      io.out(`${shown}: written`);
    }
  }
  if (stale.length > 0) {
    io.err(`stale generated types: ${stale.join(', ')}; run \`${GEN_COMMAND}\``);
    return EXIT.invalid;
  }
  return EXIT.ok;
}

/** The generated manifest, formatted as the repository's formatter would (it is committed). */
export async function formatManifestSource(set: SchemaSet): Promise<string> {
  const text = generateManifestSource(buildPipelineManifest(set), GEN_COMMAND);
  // A development tool's dependency: loaded only when generating.
  const prettier = await import('prettier');
  const path = manifestFilePath();
  const config = (await prettier.resolveConfig(path)) ?? {};
  return prettier.format(text, { ...config, filepath: path });
}

function selectSubjects(set: SchemaSet, subject: string | undefined): SubjectSchema[] {
  if (subject === undefined) return [...set.subjects];
  const found = set.subjects.find((s) => s.subject === subject);
  if (found === undefined) {
    throw new UsageError(
      `unknown subject ${subject}; known: ${set.subjects.map((s) => s.subject).join(', ')}`,
    );
  }
  return [found];
}

/** Reported, not refused: default-deny already treats unclassified fields as PHI. */
function warnUnclassified(set: SchemaSet, io: CliIo): void {
  for (const file of set.files) {
    const unclassified = file.contract.fields.filter((f) => f.phiClass === 'unclassified');
    if (unclassified.length > 0) {
      io.out(
        `warning: ${file.file}: ${unclassified.length} field(s) have no phi attribute and are treated as PHI`,
      );
    }
    const undocumented = file.contract.fields.filter((f) => f.doc === undefined);
    if (undocumented.length > 0) {
      io.out(
        `warning: ${file.file}: ${undocumented.length} field(s) have no doc: ${undocumented.map((f) => f.path).join(', ')}`,
      );
    }
  }
}

function listUnmapped(set: SchemaSet, io: CliIo): void {
  if (set.unmapped.length > 0) {
    io.out(
      `\nnot mapped to a subject (parsed, never registered): ${set.unmapped.map((f) => f.file).join(', ')}`,
    );
  }
}

function reportFailure(err: unknown, cmd: Command, io: CliIo): number {
  if (err instanceof UsageError) {
    io.err(`${err.message}\n\n${HELP[cmd]}`);
    return EXIT.usage;
  }
  if (isPipelineError(err)) {
    io.err(`${err.code}: ${err.message}`);
    return err.code === 'REGISTRY_UNAVAILABLE' ? EXIT.unreachable : EXIT.invalid;
  }
  io.err(`unexpected failure: ${err instanceof Error ? err.message : String(err)}`);
  return EXIT.invalid;
}

function assertNever(value: never): never {
  throw new Error(`unhandled command ${String(value)}`);
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

if (import.meta.main) {
  const io: CliIo = {
    out: (t) => process.stdout.write(`${t}\n`),
    err: (t) => process.stderr.write(`${t}\n`),
    env: process.env,
  };
  process.exitCode = await runCli(process.argv.slice(2), io);
}
