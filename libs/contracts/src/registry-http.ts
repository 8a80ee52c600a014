import { Agent, request } from 'undici';
import { z } from 'zod';
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

/**
 * The HTTP transport of the registry client: one bounded connection pool, a timeout on connect,
 * headers and body, basic auth from the URL, and the mapping of answers to catalog codes.
 */
export function createRegistryHttp(url: string, timeoutMs: number): RegistryHttp {
  const { base, safeUrl, authorization } = splitUrl(url);
  const agent = new Agent({
    connect: { timeout: timeoutMs },
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
      throw new PipelineError(
        'REGISTRY_UNAVAILABLE',
        `schema registry unreachable at ${safeUrl} (${why}) for ${c.about}`,
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
    throw httpError(status, json, c.about, safeUrl);
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

function httpError(status: number, json: unknown, about: string, safeUrl: string): PipelineError {
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
      : `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
  url.username = '';
  url.password = '';
  const base = url.toString().replace(/\/+$/, '');
  return { base, safeUrl: base, authorization };
}
