import { PipelineError, type ErrorCode } from '@ehrflow/errors';
import { request } from 'undici';
import { fromNetworkError } from './http-errors.ts';

/** What the extractor reads from a server's SMART configuration. */
export interface SmartConfiguration {
  /** Absolute URL of the OAuth 2.0 token endpoint. */
  readonly tokenEndpoint: string;
  /** `token_endpoint_auth_methods_supported`, empty when the server does not say. */
  readonly authMethods: readonly string[];
  /** `token_endpoint_auth_signing_alg_values_supported`, empty when the server does not say. */
  readonly signingAlgs: readonly string[];
}

export interface DiscoveryResponse {
  readonly status: number;
  readonly body: string;
}

/** GETs a URL as JSON; injectable for tests. Network failures are thrown. */
export type DiscoveryFetch = (url: string) => Promise<DiscoveryResponse>;

/** Why discovery gave no token endpoint: the document is absent, unusable, or could not be fetched. */
export type DiscoveryProblem = 'missing' | 'malformed' | 'unreachable';

/**
 * Discovery failed. The message names the URL (configuration, never record data) and what was
 * wrong with the answer; the body is never copied into it. `unreachable` is retryable
 * (`HTTP_TRANSIENT`), `missing` and `malformed` are not (`HTTP_PERMANENT`).
 */
export class SmartDiscoveryError extends PipelineError {
  readonly problem: DiscoveryProblem;

  constructor(
    problem: DiscoveryProblem,
    message: string,
    options: { cause?: unknown; status?: number; url: string },
  ) {
    const code: ErrorCode = problem === 'unreachable' ? 'HTTP_TRANSIENT' : 'HTTP_PERMANENT';
    super(code, message, {
      cause: options.cause,
      context: {
        route: 'smart-configuration',
        problem,
        ...(options.status === undefined ? {} : { status: options.status }),
      },
    });
    this.name = 'SmartDiscoveryError';
    this.problem = problem;
  }
}

/** `<baseUrl>/.well-known/smart-configuration`, whether or not the base URL ends in a slash. */
export function smartConfigurationUrl(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/.well-known/smart-configuration`;
}

/**
 * Reads the SMART configuration of a FHIR base URL to learn its token endpoint, for sources whose
 * configuration does not name one. A 404/410 is `missing`; any other 4xx, a redirect, a body that
 * is not a JSON object, or a `token_endpoint` that is not an absolute http(s) URL is `malformed`;
 * 5xx and network failures are `unreachable` (retry them).
 *
 * @see https://hl7.org/fhir/smart-app-launch/conformance.html#using-well-known
 */
export async function discoverSmartConfiguration(
  baseUrl: string,
  options: { readonly fetch?: DiscoveryFetch; readonly timeoutMs?: number } = {},
): Promise<SmartConfiguration> {
  const url = smartConfigurationUrl(baseUrl);
  const fetchJson = options.fetch ?? undiciDiscoveryFetch(options.timeoutMs ?? 10_000);
  let response: DiscoveryResponse;
  try {
    response = await fetchJson(url);
  } catch (err) {
    const mapped = fromNetworkError(err, { route: 'smart-configuration' });
    if (!(mapped instanceof PipelineError)) throw err;
    throw new SmartDiscoveryError(
      'unreachable',
      `${url} could not be reached (${String(mapped.context.errorCode)})`,
      {
        cause: err,
        url,
      },
    );
  }
  const { status } = response;
  const fail = (problem: DiscoveryProblem, why: string): never => {
    throw new SmartDiscoveryError(problem, `${url} ${why}`, { status, url });
  };
  if (status === 404 || status === 410)
    fail('missing', `answered HTTP ${status}: the server publishes no SMART configuration`);
  if (status >= 500) fail('unreachable', `answered HTTP ${status}`);
  if (status < 200 || status >= 300)
    fail('malformed', `answered HTTP ${status}${status < 400 ? ' (redirects are not followed)' : ''}`);
  let doc: unknown;
  try {
    doc = JSON.parse(response.body);
  } catch {
    return fail('malformed', 'is not valid JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    return fail('malformed', 'is not a JSON object');
  const record = doc as Record<string, unknown>;
  const endpoint = record.token_endpoint;
  if (endpoint === undefined) return fail('malformed', 'has no token_endpoint');
  if (typeof endpoint !== 'string' || !isHttpUrl(endpoint))
    return fail('malformed', 'has a token_endpoint that is not an absolute http(s) URL');
  return {
    tokenEndpoint: endpoint,
    authMethods: stringsOf(record.token_endpoint_auth_methods_supported),
    signingAlgs: stringsOf(record.token_endpoint_auth_signing_alg_values_supported),
  };
}

function isHttpUrl(text: string): boolean {
  try {
    const parsed = new URL(text);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:';
  } catch {
    return false;
  }
}

function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** The default fetch: one undici GET with a whole-exchange timeout, body read as text. */
export function undiciDiscoveryFetch(timeoutMs: number): DiscoveryFetch {
  return async (url) => {
    const response = await request(url, {
      method: 'GET',
      headers: { accept: 'application/json' },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: response.statusCode, body: await response.body.text() };
  };
}
