import { Agent, request } from 'undici';
import { z } from 'zod';
import { registryTransport, type RegistryTransportOptions } from '@ehrflow/config';
import { PipelineError } from '@ehrflow/errors';

/** One request to the registry's REST API. */
export interface RegistryCall {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly path: string;
  readonly body?: unknown;
  /** What the call is about, for messages: `subject ehr.raw-value`, `schema id 7`. */
  readonly about: string;
}

export interface RegistryHttp {
  /** Sends a call and validates the answer; failures are PipelineErrors (see `SchemaRegistry`). */
  readonly call: <T>(c: RegistryCall, schema: z.ZodType<T>) => Promise<T>;
  /** Base URL without credentials, for messages. */
  readonly safeUrl: string;
  readonly close: () => Promise<void>;
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';
const errorBodySchema = z.object({ error_code: z.number().optional(), message: z.string().optional() });

/** The registry's CA and credentials; see `registryTransport` of `@ehrflow/config`. */
export type RegistryTransport = Pick<RegistryTransportOptions, 'ca' | 'basicAuth'>;

/** Node's codes for a server certificate the client does not trust or that names another host. */
const CERTIFICATE_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * The HTTP transport of the registry client: one bounded connection pool, a timeout on connect,
 * headers and body, the pinned CA and basic auth (from `transport`, by default the
 * `SCHEMA_REGISTRY_CA` / `SCHEMA_REGISTRY_USERNAME` / `SCHEMA_REGISTRY_PASSWORD` variables, or
 * `user:password@` in the URL), and the mapping of answers to catalog codes. A refusal names the
 * setting to check, never a credential.
 */
export function createRegistryHttp(
  url: string,
  timeoutMs: number,
  transport: RegistryTransport = registryTransport(process.env),
): RegistryHttp {
  const split = splitUrl(url);
  const { base, safeUrl } = split;
  if (transport.basicAuth !== undefined && split.authorization !== undefined)
    throw new PipelineError(
      'CONFIG_INVALID',
      'schema registry credentials are given both in SCHEMA_REGISTRY_URL and in SCHEMA_REGISTRY_USERNAME/PASSWORD; set only one',
    );
  const authorization =
    transport.basicAuth === undefined
      ? split.authorization
      : basicAuthorization(transport.basicAuth.username, transport.basicAuth.password);
  const agent = new Agent({
    connect: {
      timeout: timeoutMs,
      ...(transport.ca !== undefined ? { ca: transport.ca, rejectUnauthorized: true } : {}),
    },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connections: 8,
  });

  async function call<T>(c: RegistryCall, schema: z.ZodType<T>): Promise<T> {
    let status: number;
    let text: string;
    try {
      const res = await request(`${base}${c.path}`, {
        method: c.method,
        headers: {
          accept: CONTENT_TYPE,
          ...(c.body === undefined ? {} : { 'content-type': CONTENT_TYPE }),
          ...(authorization === undefined ? {} : { authorization }),
        },
        body: c.body === undefined ? undefined : JSON.stringify(c.body),
        dispatcher: agent,
        signal: AbortSignal.timeout(timeoutMs * 2),
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const why = typeof code === 'string' ? code : err instanceof Error ? err.name : 'error';
      const hint = CERTIFICATE_CODES.has(why)
        ? `: its certificate is not trusted; check SCHEMA_REGISTRY_CA (the registry's CA) and the host name in SCHEMA_REGISTRY_URL`
        : '';
      throw new PipelineError(
        'REGISTRY_UNAVAILABLE',
        `schema registry unreachable at ${safeUrl} (${why}) for ${c.about}${hint}`,
        {
          cause: err,
          context: { registry: safeUrl, reason: why },
        },
      );
    }
    const json = parseJson(text);
    if (status >= 200 && status < 300) {
      const parsed = schema.safeParse(json);
      if (parsed.success) return parsed.data;
      throw new PipelineError(
        'REGISTRY_UNAVAILABLE',
        `schema registry at ${safeUrl} gave an unexpected answer for ${c.about}`,
        {
          context: { registry: safeUrl, status },
        },
      );
    }
    throw httpError(status, json, c.about, safeUrl, authorization !== undefined);
  }

  return { call, safeUrl, close: () => agent.close() };
}

/** The result, or a fallback when the registry says the thing does not exist. */
export async function orMissing<T, F>(p: Promise<T>, fallback: F): Promise<T | F> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof PipelineError && err.code === 'SCHEMA_NOT_REGISTERED') return fallback;
    throw err;
  }
}

function httpError(
  status: number,
  json: unknown,
  about: string,
  safeUrl: string,
  sentCredentials: boolean,
): PipelineError {
  const body = errorBodySchema.safeParse(json);
  const reason = body.success ? cleanMessage(body.data.message) : '';
  const context = {
    registry: safeUrl,
    status,
    registryCode: body.success ? body.data.error_code : undefined,
  };
  if (status >= 500) {
    return new PipelineError('REGISTRY_UNAVAILABLE', `schema registry answered ${status} for ${about}`, {
      context,
    });
  }
  switch (status) {
    case 401:
      return new PipelineError(
        'REGISTRY_REJECTED',
        sentCredentials
          ? `schema registry refused the credentials (401) for ${about}; check SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD`
          : `schema registry requires credentials (401) for ${about}; set SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD (or their _FILE)`,
        { context },
      );
    case 403:
      return new PipelineError(
        'REGISTRY_REJECTED',
        `schema registry denied access (403) for ${about} to the user of SCHEMA_REGISTRY_USERNAME; check its permissions`,
        { context },
      );
    case 404:
      return new PipelineError('SCHEMA_NOT_REGISTERED', `no registered schema for ${about}`, { context });
    case 409:
      return new PipelineError(
        'SCHEMA_INCOMPATIBLE',
        `registry refused an incompatible schema for ${about}: ${reason}`,
        {
          context,
        },
      );
    case 422:
      return new PipelineError(
        'SCHEMA_INVALID',
        `registry refused an invalid schema for ${about}: ${reason}`,
        { context },
      );
    default:
      return new PipelineError(
        'REGISTRY_REJECTED',
        `schema registry answered ${status} for ${about}: ${reason}`,
        { context },
      );
  }
}

/**
 * The registry's reason, without a Java exception class in front and bounded in length. It
 * describes schemas (paths, type names), never records.
 */
function cleanMessage(message: string | undefined): string {
  if (message === undefined) return 'no reason given';
  const trimmed = message.replace(/^[\w.$]+(Exception|Error):\s*/, '');
  return trimmed.length > 600 ? `${trimmed.slice(0, 600)}…` : trimmed;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Splits credentials out of the URL: they go into a header, never into messages. */
function splitUrl(raw: string): { base: string; safeUrl: string; authorization: string | undefined } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new PipelineError('CONFIG_INVALID', 'SCHEMA_REGISTRY_URL is not a valid URL');
  }
  const authorization =
    url.username === ''
      ? undefined
      : basicAuthorization(decodeURIComponent(url.username), decodeURIComponent(url.password));
  url.username = '';
  url.password = '';
  const base = url.toString().replace(/\/+$/, '');
  return { base, safeUrl: base, authorization };
}

/** RFC 7617 basic credentials. */
function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}
