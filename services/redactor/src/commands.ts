import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  DELETION_SCHEMA_FILE,
  createRegistry,
  deletionsTopicOf,
  findSchemasDir,
  loadSchemaFile,
  type SchemaRegistry,
} from '@ehrflow/contracts';
import { DEFAULT_MAX_RESIDUAL_RISK, DEFAULT_POLICY, TEXT_LAYERS, loadPolicy } from '@ehrflow/deid';
import { isPipelineError } from '@ehrflow/errors';
import { planCleanSchemas, registerCleanSchemas, type CleanPlan } from './clean-schemas.ts';
import { DEFAULT_RESOURCE_TYPES } from './config.ts';
import { registerDeletionSchemas } from './deletions.ts';

/** Registry of the local stack, used when SCHEMA_REGISTRY_URL is not set. */
export const DEFAULT_REGISTRY_URL = 'http://127.0.0.1:8081/apis/ccompat/v7';

/** Exit codes of the redactor CLI. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Injected in tests; otherwise made from SCHEMA_REGISTRY_URL. */
  readonly registry?: SchemaRegistry;
}

const USAGE = `usage: node services/redactor/src/cli.ts <command> [options]

Commands:
  register-schemas  derive the clean schemas from the registered valid contracts and the policy,
                    and register them under ehr.clean.<Type>-value; register the deletion schema
                    (schemas/pipeline/deletion.avsc) under ehr.valid.deletions-value and
                    ehr.clean.deletions-value
  explain           print the rule the policy resolves for every field (method, origin) and
                    the free-text detector layers in force for scrubbed fields

Options (both commands):
  --policy P          safe-harbor (default) | limited-data-set | path to a policy JSON file
                      (env REDACTOR_POLICY)
  --types T1,T2       resource types (env REDACTOR_RESOURCE_TYPES; default: every contracted type)
  --valid-prefix X    valid topic prefix (env REDACTOR_VALID_TOPIC_PREFIX; default ehr.valid.)
  --clean-prefix Y    clean topic prefix (env REDACTOR_CLEAN_TOPIC_PREFIX; default ehr.clean.)
  --dry-run           register-schemas: print what would be registered, change nothing
  --json              machine-readable output
  -h, --help          this help

Environment: SCHEMA_REGISTRY_URL (default ${DEFAULT_REGISTRY_URL}).
The valid subjects (ehr.valid.<Type>-value) must be registered already. Services never register
schemas; tests, deployments and the demo run this command. Exit codes: 0 ok, 1 failed, 2 usage.`;

const OPTIONS = {
  policy: { type: 'string' },
  types: { type: 'string' },
  'valid-prefix': { type: 'string' },
  'clean-prefix': { type: 'string' },
  'dry-run': { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const COMMANDS = new Set(['register-schemas', 'explain']);

/** Runs one CLI invocation; returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    io.err(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}\n`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help === true) {
    io.out(`${USAGE}\n`);
    return EXIT.ok;
  }
  if (command === undefined) {
    io.err(`${USAGE}\n`);
    return EXIT.usage;
  }
  if (!COMMANDS.has(command) || positionals.length > 1) {
    io.err(`unknown command: ${positionals.join(' ')}\n\n${USAGE}\n`);
    return EXIT.usage;
  }
  const env = io.env;
  const registry = io.registry ?? createRegistry({ url: env.SCHEMA_REGISTRY_URL ?? DEFAULT_REGISTRY_URL });
  try {
    const policy = loadPolicy(values.policy ?? env.REDACTOR_POLICY ?? DEFAULT_POLICY);
    const typesText = values.types ?? env.REDACTOR_RESOURCE_TYPES;
    const types =
      typesText === undefined
        ? [...DEFAULT_RESOURCE_TYPES]
        : typesText
            .split(',')
            .map((t) => t.trim())
            .filter(Boolean);
    const topics = {
      validPrefix: values['valid-prefix'] ?? env.REDACTOR_VALID_TOPIC_PREFIX ?? 'ehr.valid.',
      cleanPrefix: values['clean-prefix'] ?? env.REDACTOR_CLEAN_TOPIC_PREFIX ?? 'ehr.clean.',
    };
    const plan = await planCleanSchemas(registry, { types, topics, policy });
    if (command === 'explain') {
      io.out(values.json === true ? `${JSON.stringify(explainRows(plan), null, 2)}\n` : explainText(plan));
      return EXIT.ok;
    }
    if (values['dry-run'] === true) {
      const rows = [...plan.types.values()].map((t) => ({
        subject: t.cleanSubject,
        from: `${t.valid.subject} v${t.valid.version}`,
      }));
      for (const prefix of [topics.validPrefix, topics.cleanPrefix])
        rows.push({ subject: `${deletionsTopicOf(prefix)}-value`, from: `schemas/${DELETION_SCHEMA_FILE}` });
      io.out(
        values.json === true
          ? `${JSON.stringify(rows, null, 2)}\n`
          : rows.map((r) => `would register ${r.subject} (from ${r.from})\n`).join(''),
      );
      return EXIT.ok;
    }
    const schemasDir = findSchemasDir();
    const deletionSchema = loadSchemaFile(schemasDir, join(schemasDir, DELETION_SCHEMA_FILE)).json;
    const done = [
      ...(await registerCleanSchemas(registry, plan)),
      ...(await registerDeletionSchemas(registry, topics, deletionSchema)),
    ];
    if (values.json === true)
      io.out(
        `${JSON.stringify({ policy: plan.policy.name, version: plan.policy.version, subjects: done }, null, 2)}\n`,
      );
    else {
      io.out(`policy ${plan.policy.name} ${plan.policy.version}\n`);
      for (const r of done)
        io.out(`${r.changed ? 'registered' : 'unchanged '} ${r.subject} v${r.version} (id ${r.id})\n`);
    }
    return EXIT.ok;
  } catch (err) {
    // PipelineError messages are PHI-free by construction (codes, subjects, fields, expectations).
    io.err(
      isPipelineError(err)
        ? `${err.code}: ${err.message}\n`
        : `failed: ${err instanceof Error ? err.name : 'error'}\n`,
    );
    return EXIT.failed;
  } finally {
    if (io.registry === undefined) await registry.close();
  }
}

interface ExplainRow {
  readonly type: string;
  readonly field: string;
  readonly phi: string;
  readonly method: string;
  readonly detail: string;
  readonly origin: string;
}

function explainRows(plan: CleanPlan): ExplainRow[] {
  const rows: ExplainRow[] = [];
  for (const [type] of plan.types) {
    for (const f of plan.policy.contract(type).fields) {
      const params = Object.entries(f.rule).filter(([k]) => k !== 'method');
      if (f.method === 'scrub') {
        // The detector layers in force, and the residual-risk threshold (default when unset).
        if (!params.some(([k]) => k === 'maxResidualRisk'))
          params.push(['maxResidualRisk', DEFAULT_MAX_RESIDUAL_RISK]);
        params.push(['layers', TEXT_LAYERS.join(',')]);
      }
      const detail = params.map(([k, v]) => `${k}=${String(v)}`).join(' ');
      rows.push({ type, field: f.name, phi: f.field.phiClass, method: f.method, detail, origin: f.origin });
    }
  }
  return rows;
}

/** A note under the table when some field is scrubbed: what the layers are. */
function freeTextText(rows: readonly ExplainRow[]): string {
  if (!rows.some((r) => r.method === 'scrub')) return '';
  return (
    '\nscrub layers: patterns (dates, ages over 89, phone/fax, e-mail, URL, IP, SSN, labelled ids, addresses), ' +
    "known (the patient's own identifiers), context (titles, roles, contact verbs, labels, signatures), " +
    'dictionary (census given names and surnames), heuristic (capitalised and unknown words, clinical allowlist); ' +
    'a value whose residual risk exceeds maxResidualRisk is withheld\n'
  );
}

function explainText(plan: CleanPlan): string {
  const rows = explainRows(plan);
  const head = {
    type: 'type',
    field: 'field',
    phi: 'phi',
    method: 'method',
    detail: 'params',
    origin: 'rule from',
  };
  const all = [head, ...rows];
  const keys = ['type', 'field', 'phi', 'method', 'detail', 'origin'] as const;
  const widths = keys.map((k) => Math.max(...all.map((r) => r[k].length)));
  const line = (r: ExplainRow | typeof head) =>
    `${keys
      .map((k, i) => r[k].padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd()}\n`;
  return `policy ${plan.policy.name} ${plan.policy.version}\n${all.map(line).join('')}${freeTextText(rows)}`;
}
