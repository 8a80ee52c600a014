import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError, z, type ConfigProblem } from '@ehrflow/config';
import { isR4ResourceType, r4ResourceTypes } from '@ehrflow/fhir';
import { CLIENT_KEY_ALGS, readClientKey, type TokenAuth, type TokenEndpointOptions } from '@ehrflow/http';

const jwtAuth = z.strictObject({
  method: z.literal('jwt'),
  /**
   * Private key whose public half is in the JWKS registered at the EHR: PEM (PKCS#8, PKCS#1 or
   * SEC1) or a private JWK (`extractor keys generate` writes both forms).
   */
  privateKeyFile: z.string().min(1),
  alg: z.enum(CLIENT_KEY_ALGS),
  /** Defaults to the `kid` of a JWK key file. */
  kid: z.string().min(1).optional(),
});

const secretAuth = z.strictObject({
  method: z.literal('secret'),
  /** File holding the client secret (a mounted secret, never inline). */
  secretFile: z.string().min(1),
});

const authSchema = z.discriminatedUnion('method', [jwtAuth, secretAuth]);

/**
 * Any concrete FHIR R4 resource type may be requested, contracted or not: a type without a
 * contract is quarantined downstream as `no_contract`, so stewards see what they are missing.
 */
const resourceType = z.string().refine(isR4ResourceType, { error: 'is not a FHIR R4 resource type' });

const sourceSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
  baseUrl: z.url(),
  /** Token endpoint; when omitted, SMART discovery (`<baseUrl>/.well-known/smart-configuration`) finds it. */
  tokenUrl: z.url().optional(),
  clientId: z.string().min(1),
  auth: authSchema,
  scopes: z.array(z.string().min(1)).min(1).default(['system/*.read']),
  rateLimitPerMinute: z.number().positive(),
  headroom: z.number().gt(0).max(1).default(0.6),
  maxConcurrency: z.number().int().min(1).max(64).default(4),
  resourceTypes: z.array(resourceType).min(1),
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

/** One configured EHR endpoint with its credentials loaded and its token URL known. */
export interface SourceConfig extends Omit<SourceEntry, 'auth' | 'tokenUrl'> {
  readonly auth: TokenAuth;
  readonly tokenUrl: string;
}

/** Where and how a source's access tokens are requested (the token request and the token provider). */
export function tokenEndpointOf(
  source: SourceConfig,
): Pick<TokenEndpointOptions, 'sourceId' | 'tokenUrl' | 'clientId' | 'auth' | 'scopes'> {
  return {
    sourceId: source.id,
    tokenUrl: source.tokenUrl,
    clientId: source.clientId,
    auth: source.auth,
    scopes: source.scopes,
  };
}

/** A source as the file declares it: the token URL may still have to be discovered (`source-discovery.ts`). */
export interface DeclaredSource extends Omit<SourceConfig, 'tokenUrl'> {
  readonly tokenUrl?: string | undefined;
}

/**
 * Reads and validates the sources file. Every problem is reported at once, each naming the
 * source (by id, or by position when the id itself is wrong) and the field — never a value.
 * Key and secret files are read now (relative paths resolve against the sources file), so a
 * missing credential fails at start, not in the middle of a job.
 *
 * @throws ConfigError (CONFIG_INVALID) listing every problem.
 */
export function loadSources(path: string): DeclaredSource[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new ConfigError([{ variable: 'EXTRACTOR_SOURCES_FILE', reason: 'file cannot be read' }]);
  }
  return parseSources(text, (file) => readFileSync(resolve(dirname(path), file), 'utf8'));
}

/** Validates sources file text; `readFile` loads a key or secret file (injectable for tests). */
export function parseSources(text: string, readFile: (file: string) => string): DeclaredSource[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ConfigError([{ variable: 'sources file', reason: 'is not valid JSON' }]);
  }
  // Every problem at once: the shape of the whole file, then, entry by entry, the credentials of
  // every entry whose auth block is well-formed (even when another field of it is not).
  const parsed = fileSchema.safeParse(raw);
  const problems: ConfigProblem[] = parsed.success
    ? []
    : parsed.error.issues.map((issue) => toProblem(raw, issue));
  const entries: unknown[] = Array.isArray((raw as { sources?: unknown } | null)?.sources)
    ? (raw as { sources: unknown[] }).sources
    : [];
  const seen = new Set<string>();
  const sources: DeclaredSource[] = [];
  entries.forEach((value, index) => {
    const where = `source ${nameOf(value, index)}`;
    const report = (field: string, reason: string): void => {
      problems.push({ variable: `${where}: ${field}`, reason });
    };
    const authBlock = authSchema.safeParse((value as { auth?: unknown } | null)?.auth);
    const auth = authBlock.success ? readAuth(authBlock.data, readFile, report) : undefined;
    const entry = sourceSchema.safeParse(value);
    if (!entry.success) return;
    if (seen.has(entry.data.id)) report('id', 'is used by more than one source');
    seen.add(entry.data.id);
    if (entry.data.exportLevel === 'group' && entry.data.groupId === undefined) {
      report('groupId', 'is required when exportLevel is group');
    }
    if (auth !== undefined) sources.push({ ...entry.data, auth });
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return sources;
}

function readAuth(
  auth: SourceEntry['auth'],
  readFile: (file: string) => string,
  problem: (field: string, reason: string) => void,
): TokenAuth | undefined {
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
  const read = readClientKey(content, auth.alg);
  if (!read.ok) {
    problem(field, read.reason);
    return undefined;
  }
  if (auth.kid !== undefined && read.key.kid !== undefined && auth.kid !== read.key.kid) {
    problem(
      'auth.kid',
      'differs from the kid of the JWK in auth.privateKeyFile (the EHR looks the key up by kid)',
    );
    return undefined;
  }
  const kid = auth.kid ?? read.key.kid;
  return {
    kind: 'jwt',
    privateKeyPem: read.key.privateKeyPem,
    alg: auth.alg,
    ...(kid === undefined ? {} : { kid }),
  };
}

/** Names the source of a zod issue by its id when that is a usable string, else by position. */
function toProblem(raw: unknown, issue: z.core.$ZodIssue): ConfigProblem {
  const [top, index, ...rest] = issue.path;
  if (top !== 'sources' || typeof index !== 'number') {
    const variable = `sources file: ${issue.path.map(String).join('.') || '(root)'}`;
    return { variable, reason: describe(issue, valueAt(raw, issue.path)) };
  }
  const name = nameOf((raw as { sources?: unknown[] }).sources?.[index], index);
  const field = rest.map(String).join('.') || '(entry)';
  return { variable: `source ${name}: ${field}`, reason: describe(issue, valueAt(raw, issue.path)) };
}

/** A source by its id when that is a usable string, else by its position (1-based). */
function nameOf(entry: unknown, index: number): string {
  const id = (entry as { id?: unknown } | null | undefined)?.id;
  return typeof id === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(id) ? id : `#${index + 1}`;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let value: unknown = raw;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** The reason for a requested type that R4 does not have, with the official spelling when only case differs. */
function typeHint(value: unknown): string {
  const lower = typeof value === 'string' ? value.toLowerCase() : undefined;
  const official = [...r4ResourceTypes()].find((t) => t.toLowerCase() === lower);
  return official === undefined
    ? 'is not a FHIR R4 resource type (see https://hl7.org/fhir/R4/resourcelist.html)'
    : `is not a FHIR R4 resource type (names are case-sensitive: ${official})`;
}

// Built from the issue's shape, never from the input (a secret may sit in the wrong field); the
// input only decides between "required" and "wrong type", and picks an official type name.
function describe(issue: z.core.$ZodIssue, value: unknown): string {
  const isPresent = value !== undefined;
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
      // Our own refinements carry fixed text; a misspelt type gets the official spelling.
      return issue.path.at(-2) === 'resourceTypes' ? typeHint(value) : `is invalid (${issue.code})`;
    case 'not_multiple_of':
    case 'invalid_key':
    case 'invalid_element':
      return `is invalid (${issue.code})`;
  }
}
