import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError, z, type ConfigProblem } from '@ehrflow/config';
import { RESOURCE_TYPES as CONTRACTED_TYPES } from '@ehrflow/contracts/manifest';
import type { TokenAuth } from '@ehrflow/http';

/** FHIR resource types the extractor knows how to ask for: those with a contract in schemas/fhir/. */
export const RESOURCE_TYPES = CONTRACTED_TYPES;

const jwtAuth = z.strictObject({
  method: z.literal('jwt'),
  /** PEM PKCS#8 private key whose public half is in the JWKS registered at the EHR. */
  privateKeyFile: z.string().min(1),
  alg: z.enum(['RS384', 'ES384']),
  kid: z.string().min(1).optional(),
});
const secretAuth = z.strictObject({
  method: z.literal('secret'),
  /** File holding the client secret (a mounted secret, never inline). */
  secretFile: z.string().min(1),
});

const sourceSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
  baseUrl: z.url(),
  tokenUrl: z.url(),
  clientId: z.string().min(1),
  auth: z.discriminatedUnion('method', [jwtAuth, secretAuth]),
  scopes: z.array(z.string().min(1)).min(1).default(['system/*.read']),
  rateLimitPerMinute: z.number().positive(),
  headroom: z.number().gt(0).max(1).default(0.6),
  maxConcurrency: z.number().int().min(1).max(64).default(4),
  resourceTypes: z.array(z.enum(RESOURCE_TYPES)).min(1),
  /** `system` exports `$export`; `group` exports `Group/<groupId>/$export`. */
  exportLevel: z.enum(['system', 'group']).default('system'),
  groupId: z
    .string()
    .regex(/^[A-Za-z0-9.-]{1,64}$/)
    .optional(),
  /** `_count` of incremental search pages. */
  pageSize: z.number().int().min(1).max(1000).default(200),
  /** Token refresh this long before expiry (capped at half the lifetime). */
  tokenSkewMs: z.number().int().min(0).default(30_000),
  connectTimeoutMs: z.number().int().positive().default(10_000),
  headersTimeoutMs: z.number().int().positive().default(30_000),
  bodyIdleTimeoutMs: z.number().int().positive().default(60_000),
  /** Longest `Retry-After` honoured on a 429/503; an absurd value is cut to this and logged. */
  retryAfterCapMs: z.number().int().min(1_000).default(300_000),
});

const fileSchema = z.strictObject({ sources: z.array(sourceSchema).min(1) });

type SourceEntry = z.infer<typeof sourceSchema>;

/** One configured EHR endpoint with its credentials loaded. */
export interface SourceConfig extends Omit<SourceEntry, 'auth'> {
  readonly auth: TokenAuth;
}

/**
 * Reads and validates the sources file. Every problem is reported at once, each naming the
 * source (by id, or by position when the id itself is wrong) and the field — never a value.
 * Key and secret files are read now (relative paths resolve against the sources file), so a
 * missing credential fails at start, not in the middle of a job.
 *
 * @throws ConfigError (CONFIG_INVALID) listing every problem.
 */
export function loadSources(path: string): SourceConfig[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new ConfigError([{ variable: 'EXTRACTOR_SOURCES_FILE', reason: 'file cannot be read' }]);
  }
  return parseSources(text, (file) => readFileSync(resolve(dirname(path), file), 'utf8'));
}

/** Validates sources file text; `readFile` loads a key or secret file (injectable for tests). */
export function parseSources(text: string, readFile: (file: string) => string): SourceConfig[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ConfigError([{ variable: 'sources file', reason: 'is not valid JSON' }]);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => toProblem(raw, issue)));
  }
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  const sources: SourceConfig[] = [];
  for (const entry of parsed.data.sources) {
    const where = `source ${entry.id}`;
    if (seen.has(entry.id))
      problems.push({ variable: `${where}: id`, reason: 'is used by more than one source' });
    seen.add(entry.id);
    if (entry.exportLevel === 'group' && entry.groupId === undefined) {
      problems.push({ variable: `${where}: groupId`, reason: 'is required when exportLevel is group' });
    }
    const auth = readAuth(entry, readFile, (field, reason) =>
      problems.push({ variable: `${where}: ${field}`, reason }),
    );
    if (auth !== undefined) sources.push({ ...entry, auth });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return sources;
}

function readAuth(
  entry: SourceEntry,
  readFile: (file: string) => string,
  problem: (field: string, reason: string) => void,
): TokenAuth | undefined {
  const auth = entry.auth;
  const field = auth.method === 'jwt' ? 'auth.privateKeyFile' : 'auth.secretFile';
  let content: string;
  try {
    content = readFile(auth.method === 'jwt' ? auth.privateKeyFile : auth.secretFile).trim();
  } catch {
    problem(field, 'file cannot be read');
    return undefined;
  }
  if (content === '') {
    problem(field, 'file is empty');
    return undefined;
  }
  if (auth.method === 'secret') return { kind: 'secret', secret: content };
  if (!content.includes('-----BEGIN PRIVATE KEY-----')) {
    problem(field, 'must hold a PEM PKCS#8 private key');
    return undefined;
  }
  return {
    kind: 'jwt',
    privateKeyPem: content,
    alg: auth.alg,
    ...(auth.kid === undefined ? {} : { kid: auth.kid }),
  };
}

/** Names the source of a zod issue by its id when that is a usable string, else by position. */
function toProblem(raw: unknown, issue: z.core.$ZodIssue): ConfigProblem {
  const [top, index, ...rest] = issue.path;
  if (top !== 'sources' || typeof index !== 'number') {
    const variable = `sources file: ${issue.path.map(String).join('.') || '(root)'}`;
    return { variable, reason: describe(issue, present(raw, issue.path)) };
  }
  const entry = (raw as { sources?: unknown[] }).sources?.[index];
  const id = (entry as { id?: unknown } | undefined)?.id;
  const name = typeof id === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(id) ? id : `#${index + 1}`;
  const field = rest.map(String).join('.') || '(entry)';
  return { variable: `source ${name}: ${field}`, reason: describe(issue, present(raw, issue.path)) };
}

function present(raw: unknown, path: readonly PropertyKey[]): boolean {
  let value: unknown = raw;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return false;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value !== undefined;
}

// Built from the issue's shape, never from the input (a secret may sit in the wrong field).
function describe(issue: z.core.$ZodIssue, isPresent: boolean): string {
  switch (issue.code) {
    case 'invalid_type':
      return isPresent ? `must be a ${issue.expected}` : 'is required';
    case 'invalid_value':
      return `expected one of: ${issue.values.map(String).join(', ')}`;
    case 'too_small':
      return `must be at least ${String(issue.minimum)}`;
    case 'too_big':
      return `must be at most ${String(issue.maximum)}`;
    case 'invalid_format':
      return `must be a valid ${issue.format}`;
    case 'unrecognized_keys':
      return `has unknown field(s) ${issue.keys.join(', ')}`;
    case 'invalid_union':
      return 'matches none of the allowed shapes (check auth.method)';
    case 'custom':
    case 'not_multiple_of':
    case 'invalid_key':
    case 'invalid_element':
      return `is invalid (${issue.code})`;
  }
}
