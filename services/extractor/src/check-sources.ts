import { isPipelineError } from '@ehrflow/errors';
import {
  createTokenRequester,
  fromNetworkError,
  silentLogger,
  type TokenEndpointOptions,
} from '@ehrflow/http';
import { type RetryPolicy } from '@ehrflow/resilience';
import { request } from 'undici';
import { resolveTokenUrls } from './source-discovery.ts';
import { tokenEndpointOf, type DeclaredSource, type SourceConfig } from './sources.ts';

export const CHECK_SOURCES_HELP = `Usage: node services/extractor/src/cli.ts check-sources [--source <id>]

Checks what an EHR must accept before a first job, for every source of EXTRACTOR_SOURCES_FILE
(or one): the file and its credentials load, the token endpoint is known (configured, or found by
SMART discovery at <baseUrl>/.well-known/smart-configuration), the EHR issues a token for the
client (the registered JWKS and kid, or the secret), and <baseUrl>/metadata answers with a FHIR
R4 CapabilityStatement (whether it lists $export is shown). One line per check; no job, no Kafka,
no database: only EXTRACTOR_SOURCES_FILE (and EXTRACTOR_HTTP_RETRIES, EXTRACTOR_RETRY_MAX_MS).
Exit 0 when every check passed, 1 when one failed, 78 when the configuration is invalid.

Options:
  --source <id>   check this source only
  -h, --help      show this help
`;

/** One checked source: printable lines (ids, URLs from the configuration, codes), and the verdict. */
export interface SourceCheck {
  readonly sourceId: string;
  readonly ok: boolean;
  readonly lines: readonly string[];
}

/** What a check may call (injectable for tests). */
export interface CheckDeps {
  readonly retryPolicy: RetryPolicy;
  /** One token request for a source; the default signs and POSTs like the extractor does. */
  readonly requestToken?: (options: TokenEndpointOptions) => Promise<string>;
  /** GET `<baseUrl>/metadata` with the token: status and body text. */
  readonly fetchMetadata?: (url: string, token: string) => Promise<{ status: number; body: string }>;
}

/**
 * Checks sources one by one. Discovery failures are configuration problems (thrown as one
 * `ConfigError` by `resolveTokenUrls`, like at start); token and metadata failures are reported per
 * source with the error code and, for a refused client, the OAuth error code — never a response
 * body or a credential.
 */
export async function checkSources(
  declared: readonly DeclaredSource[],
  deps: CheckDeps,
): Promise<SourceCheck[]> {
  const sources = await resolveTokenUrls(declared, { retryPolicy: deps.retryPolicy, logger: silentLogger });
  const requestToken =
    deps.requestToken ??
    ((options: TokenEndpointOptions) => createTokenRequester(options)().then((t) => t.token));
  const fetchMetadata = deps.fetchMetadata ?? undiciMetadata;
  const checks: SourceCheck[] = [];
  for (const source of sources) checks.push(await checkOne(source, declared, requestToken, fetchMetadata));
  return checks;
}

async function checkOne(
  source: SourceConfig,
  declared: readonly DeclaredSource[],
  requestToken: (options: TokenEndpointOptions) => Promise<string>,
  fetchMetadata: NonNullable<CheckDeps['fetchMetadata']>,
): Promise<SourceCheck> {
  const discovered = declared.find((d) => d.id === source.id)?.tokenUrl === undefined;
  const lines = [
    `source ${source.id}: token endpoint ${source.tokenUrl} (${discovered ? 'found by SMART discovery' : 'configured'})`,
  ];
  let token: string;
  try {
    token = await requestToken(tokenEndpointOf(source));
  } catch (err) {
    const mapped = fromNetworkError(err, { route: 'token' });
    lines.push(`source ${source.id}: FAILED token request: ${describe(mapped)}${hint(mapped)}`);
    return { sourceId: source.id, ok: false, lines };
  }
  lines.push(
    `source ${source.id}: token issued for client ${source.clientId} (${source.auth.kind === 'jwt' ? `${source.auth.alg} assertion` : 'client secret'})`,
  );
  const metadataUrl = `${source.baseUrl.replace(/\/+$/, '')}/metadata`;
  let metadata: { status: number; body: string };
  try {
    metadata = await fetchMetadata(metadataUrl, token);
  } catch (err) {
    lines.push(
      `source ${source.id}: FAILED ${metadataUrl}: ${describe(fromNetworkError(err, { route: 'metadata' }))}`,
    );
    return { sourceId: source.id, ok: false, lines };
  }
  const capability = parseCapability(metadata.body);
  if (metadata.status !== 200 || capability === undefined) {
    lines.push(
      `source ${source.id}: FAILED ${metadataUrl} answered HTTP ${metadata.status} without a CapabilityStatement`,
    );
    return { sourceId: source.id, ok: false, lines };
  }
  const r4 = capability.fhirVersion?.startsWith('4.0.') === true;
  lines.push(
    `source ${source.id}: ${r4 ? '' : 'FAILED '}FHIR ${capability.fhirVersion ?? '(no fhirVersion)'}${r4 ? '' : ' (R4, 4.0.x, expected)'}; ` +
      `$export ${capability.exports ? 'listed' : 'not listed (backfills may be refused; incremental syncs still work)'}`,
  );
  return { sourceId: source.id, ok: r4, lines };
}

function describe(err: unknown): string {
  if (!isPipelineError(err)) return err instanceof Error ? err.name : 'error';
  const parts: string[] = [err.code];
  for (const key of ['status', 'oauthError', 'errorCode'] as const) {
    const value = err.context[key];
    if (value !== undefined) parts.push(`${key} ${String(value)}`);
  }
  return parts.join(', ');
}

function hint(err: unknown): string {
  if (!isPipelineError(err) || err.code !== 'AUTH_REJECTED') return '';
  return ' (check the client id, that the registered JWKS holds this kid, the clock, and that tokenUrl is the URL the EHR expects as aud)';
}

/** The fields of a CapabilityStatement the check reads; undefined when the body is not one. */
function parseCapability(body: string): { fhirVersion: string | undefined; exports: boolean } | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (
    typeof doc !== 'object' ||
    doc === null ||
    (doc as { resourceType?: unknown }).resourceType !== 'CapabilityStatement'
  )
    return undefined;
  const { fhirVersion, rest } = doc as { fhirVersion?: unknown; rest?: unknown };
  const operations: unknown[] = Array.isArray(rest)
    ? (rest as unknown[]).flatMap((r): unknown[] => {
        const ops = (r as { operation?: unknown } | null)?.operation;
        return Array.isArray(ops) ? (ops as unknown[]) : [];
      })
    : [];
  const exports = operations.some((op: unknown) => (op as { name?: unknown } | null)?.name === 'export');
  return { fhirVersion: typeof fhirVersion === 'string' ? fhirVersion : undefined, exports };
}

async function undiciMetadata(url: string, token: string): Promise<{ status: number; body: string }> {
  const response = await request(url, {
    headers: { accept: 'application/fhir+json', authorization: `Bearer ${token}` },
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
    signal: AbortSignal.timeout(30_000),
  });
  return { status: response.statusCode, body: await response.body.text() };
}
