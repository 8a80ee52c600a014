import { readFileSync } from 'node:fs';
import type { z } from 'zod';
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
    super(
      'CONFIG_INVALID',
      `invalid configuration: ${problems.length} problem(s): ${problems.map((p) => p.variable).join(', ')}`,
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * Resolves `NAME_FILE` variables for the given variable names: a secret may be given as a path to
 * a file (a Kubernetes secret volume) instead of inline. Only names the schema declares are
 * resolved, so an unrelated `*_FILE` variable of the platform is never opened. Giving both `NAME`
 * and `NAME_FILE` is a configuration error, not a silent preference. Surrounding whitespace (the
 * trailing newline of `echo secret > file`) is trimmed.
 */
export function resolveFileVariables(
  env: Env,
  variables: Iterable<string>,
): { env: Record<string, string | undefined>; problems: ConfigProblem[] } {
  const out = withoutBlanks(env);
  const problems: ConfigProblem[] = [];
  for (const name of variables) {
    const fileKey = `${name}_FILE`;
    const path = out[fileKey];
    if (path === undefined) continue;
    if (out[name] !== undefined) {
      problems.push({ variable: fileKey, reason: `both ${name} and ${fileKey} are set; set only one` });
      continue;
    }
    let content: string;
    try {
      content = readFileSync(path, 'utf8').trim();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
      problems.push({ variable: fileKey, reason: `cannot read the file it names (${code})` });
      continue;
    }
    if (content === '') problems.push({ variable: fileKey, reason: 'names an empty file' });
    else out[name] = content;
  }
  return { env: out, problems };
}

/**
 * An empty or blank variable counts as unset (`FOO=` in a compose file or a manifest): otherwise
 * `HTTP_PORT=` would coerce to port 0 and a blank secret would pass a presence check.
 */
function withoutBlanks(env: Env): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== '') out[key] = value;
  }
  return out;
}

/**
 * Validates the environment against a zod object schema whose keys are variable names. Every
 * problem is collected before failing, so an operator fixes a deployment in one round. Reasons
 * are built from the shape of each problem, never from the value (it may be a secret).
 */
export function loadConfig<S extends z.ZodObject>(schema: S, env: Env = process.env): z.infer<S> {
  const resolved = resolveFileVariables(env, Object.keys(schema.shape));
  const parsed = schema.safeParse(resolved.env);
  const problems = [...resolved.problems];
  // A variable whose *_FILE could not be read is already reported; "is required" would only add noise.
  const reported = new Set(problems.map((p) => p.variable.replace(/_FILE$/, '')));
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const variable = issue.path.map(String).join('.') || '(root)';
      if (reported.has(variable)) continue;
      const present = issue.path.length > 0 && resolved.env[String(issue.path[0])] !== undefined;
      problems.push({ variable, reason: describeIssue(issue, present) });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return parsed.data as z.infer<S>;
}

function describeIssue(issue: z.core.$ZodIssue, present: boolean): string {
  // zod's messages may quote the received value for some issue kinds; build our own from the
  // issue's shape so a mistyped secret never reaches the terminal.
  if (!present && issue.code !== 'custom') return 'is required';
  switch (issue.code) {
    case 'invalid_type':
      return `must be a ${issue.expected}`;
    case 'invalid_value':
      return `expected one of: ${issue.values.map(String).join(', ')}`;
    case 'too_small':
      return `must be ${issue.inclusive === false ? 'greater than' : 'at least'} ${String(issue.minimum)}${unitOf(issue.origin)}`;
    case 'too_big':
      return `must be ${issue.inclusive === false ? 'less than' : 'at most'} ${String(issue.maximum)}${unitOf(issue.origin)}`;
    case 'invalid_format':
      return issue.format === 'regex' && issue.pattern !== undefined
        ? `must match ${issue.pattern}`
        : `must be a valid ${issue.format}`;
    case 'custom':
      // Written by the schema's author for this variable, not generated from the input.
      return issue.message;
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    case 'invalid_union':
    case 'invalid_key':
    case 'invalid_element':
    case 'unrecognized_keys':
      return `is invalid (${issue.code})`;
  }
}

function unitOf(origin: string): string {
  switch (origin) {
    case 'string':
      return ' characters';
    case 'array':
    case 'set':
      return ' item(s)';
    default:
      return '';
  }
}

/**
 * For process entry points: load or exit non-zero with one line per invalid variable and no
 * stack trace.
 */
export function loadConfigOrExit<S extends z.ZodObject>(
  schema: S,
  serviceName: string,
  env: Env = process.env,
): z.infer<S> {
  try {
    return loadConfig(schema, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const lines = err.problems.map((p) => `  ${p.variable}: ${p.reason}`);
    process.stderr.write(`${serviceName}: invalid configuration\n${lines.join('\n')}\n`);
    process.exit(78); // EX_CONFIG
  }
}
