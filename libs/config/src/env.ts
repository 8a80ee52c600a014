import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { PipelineError } from '@ehrflow/errors';

export type Env = Readonly<Record<string, string | undefined>>;

/** One invalid variable: its name and why, never its value (it may be a secret). */
export interface ConfigProblem {
  readonly variable: string;
  readonly reason: string;
}

export class ConfigError extends PipelineError {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super('CONFIG_INVALID', `invalid configuration: ${problems.length} problem(s): ${problems.map((p) => p.variable).join(', ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * Resolves `NAME_FILE` variables: a secret may be given as a path to a file (a Kubernetes secret
 * volume) instead of inline. Giving both is a configuration error, not a silent preference.
 */
export function resolveFileVariables(env: Env): { env: Record<string, string | undefined>; problems: ConfigProblem[] } {
  const out: Record<string, string | undefined> = { ...env };
  const problems: ConfigProblem[] = [];
  for (const [key, path] of Object.entries(env)) {
    if (!key.endsWith('_FILE') || path === undefined || path === '') continue;
    const name = key.slice(0, -'_FILE'.length);
    if (env[name] !== undefined && env[name] !== '') {
      problems.push({ variable: key, reason: `both ${name} and ${key} are set; set only one` });
      continue;
    }
    try {
      out[name] = readFileSync(path, 'utf8').trim();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
      problems.push({ variable: key, reason: `cannot read the file it names (${code})` });
    }
  }
  return { env: out, problems };
}

/**
 * Validates the environment against a zod object schema whose keys are variable names. Every
 * problem is collected before failing, so an operator fixes a deployment in one round.
 */
export function loadConfig<S extends z.ZodObject>(schema: S, env: Env = process.env): z.infer<S> {
  const resolved = resolveFileVariables(env);
  const parsed = schema.safeParse(resolved.env);
  const problems = [...resolved.problems];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push({ variable: issue.path.map(String).join('.') || '(root)', reason: describeIssue(issue) });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return parsed.data as z.infer<S>;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  // zod's messages may quote the received value for some issue kinds; build our own from the
  // issue's shape so a mistyped secret never reaches the terminal.
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'is required' : `expected ${issue.expected}`;
    case 'invalid_value':
      return `expected one of: ${issue.values.map(String).join(', ')}`;
    case 'too_small':
      return `must be at least ${String(issue.minimum)}${issue.origin === 'string' ? ' characters' : ''}`;
    case 'too_big':
      return `must be at most ${String(issue.maximum)}${issue.origin === 'string' ? ' characters' : ''}`;
    case 'invalid_format':
      return `must be a valid ${issue.format}`;
    default:
      return issue.message;
  }
}

/**
 * For process entry points: load or exit non-zero with one line per invalid variable and no
 * stack trace.
 */
export function loadConfigOrExit<S extends z.ZodObject>(schema: S, serviceName: string, env: Env = process.env): z.infer<S> {
  try {
    return loadConfig(schema, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const lines = err.problems.map((p) => `  ${p.variable}: ${p.reason}`);
    process.stderr.write(`${serviceName}: invalid configuration\n${lines.join('\n')}\n`);
    process.exit(78); // EX_CONFIG
  }
}
