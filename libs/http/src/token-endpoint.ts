import { randomUUID } from 'node:crypto';
import { PipelineError, isPipelineError, isProgrammerError } from '@ehrflow/errors';
import { SignJWT, importPKCS8 } from 'jose';
import { request } from 'undici';
import { fromNetworkError, fromStatus } from './http-errors.ts';
import type { RateLimiter } from './rate-limiter.ts';
import { parseRetryAfter } from './retry-after.ts';

/** How the client proves who it is: a signed JWT assertion (SMART Backend Services) or a secret. */
export type TokenAuth =
  | {
      readonly kind: 'jwt';
      readonly privateKeyPem: string;
      readonly alg: 'RS384' | 'ES384';
      readonly kid?: string;
    }
  | { readonly kind: 'secret'; readonly secret: string };

export interface TokenRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** `application/x-www-form-urlencoded` body. */
  readonly body: string;
}

export interface TokenResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

/** POSTs a form to the token endpoint; injectable for tests. Network failures are thrown. */
export type TokenFetch = (request: TokenRequest) => Promise<TokenResponse>;

/** An access token as issued, with the times the provider needs to refresh it early. */
export interface IssuedToken {
  readonly token: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
}

export interface TokenEndpointOptions {
  /** Configured source id (never record data), for error context. */
  readonly sourceId: string;
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly auth: TokenAuth;
  readonly scopes: readonly string[];
  readonly fetch?: TokenFetch;
  /** Timeout of one token request with the default fetch. Default 10 s. */
  readonly requestTimeoutMs?: number;
  /** Longest Retry-After honoured from the token endpoint. Default 5 min. */
  readonly retryAfterCapMs?: number;
  /**
   * The source's shared limiter: a token request spends from the same budget as the API
   * requests (acquired before it is sent), and its 429 slows every replica down like any other.
   */
  readonly limiter?: RateLimiter;
  /** Injected clock (epoch ms) for tests. */
  readonly now?: () => number;
  /** Uniform in [0, 1) for the jitter of the back-off after a 429; injectable for tests. */
  readonly random?: () => number;
}

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const ASSERTION_LIFETIME_S = 300;
const DEFAULT_EXPIRES_IN_S = 300;
// RFC 6749 §5.2 error codes; any other value is reported as 'other' (the body is never echoed).
const OAUTH_ERRORS = new Set([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
]);
const REJECTING_ERRORS = new Set(['invalid_client', 'invalid_grant', 'unauthorized_client']);

/**
 * Builds the one-shot token request of a source: a client_credentials grant authenticated by a
 * signed JWT assertion (SMART Backend Services) or by HTTP Basic with a client secret.
 *
 * Failures: a rejected client (400/401/403, or invalid_client / invalid_grant /
 * unauthorized_client in any status) is `AUTH_REJECTED`; 5xx and network failures are
 * `HTTP_TRANSIENT`; 429 is `RATE_LIMITED` with its Retry-After; other 4xx are `HTTP_PERMANENT`.
 * Neither the response body nor `error_description` is ever copied into an error.
 *
 * @see https://hl7.org/fhir/uv/bulkdata/authorization/
 */
export function createTokenRequester(options: TokenEndpointOptions): () => Promise<IssuedToken> {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const fetchToken = options.fetch ?? undiciTokenFetch(options.requestTimeoutMs ?? 10_000);
  const signAssertion = options.auth.kind === 'jwt' ? assertionSigner(options, now) : undefined;
  const logContext = { sourceId: options.sourceId };
  const capMs = options.retryAfterCapMs ?? 300_000;
  // After a 429 the endpoint is closed to this process until `closedUntil`: every caller (and the
  // retry loops of every request waiting for a token) is answered at once with the same
  // RATE_LIMITED, so a throttled token endpoint never sees more refresh attempts than one.
  let closedUntil = 0;
  let throttledInARow = 0;

  const requestOnce = async (): Promise<IssuedToken> => {
    await options.limiter?.acquire();
    const issuedAt = now();
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (options.scopes.length > 0) form.set('scope', options.scopes.join(' '));
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    if (options.auth.kind === 'secret') {
      headers.authorization = basicAuth(options.clientId, options.auth.secret);
    } else if (signAssertion !== undefined) {
      form.set('client_assertion_type', ASSERTION_TYPE);
      form.set('client_assertion', await signAssertion());
    }
    let response: TokenResponse;
    try {
      response = await fetchToken({ url: options.tokenUrl, headers, body: form.toString() });
    } catch (err) {
      const mapped = fromNetworkError(err, { ...logContext, route: 'token' });
      throw isPipelineError(mapped) || isProgrammerError(mapped) ? mapped : transientTokenFailure(err);
    }
    return readTokenResponse(response, issuedAt, options, now);
  };

  return async () => {
    const waitMs = closedUntil - now();
    if (waitMs > 0) {
      throw new PipelineError('RATE_LIMITED', 'the token endpoint is throttling; not asking again yet', {
        // Not a 429 the server sent: counters of 429s leave it out.
        context: { ...logContext, route: 'token', notSent: true },
        retryAfterMs: waitMs,
      });
    }
    try {
      const issued = await requestOnce();
      throttledInARow = 0;
      await options.limiter?.onSuccess().catch(() => undefined);
      return issued;
    } catch (err) {
      if (isPipelineError(err) && err.code === 'RATE_LIMITED') {
        throttledInARow++;
        // The Retry-After is a floor; refused again after honouring it, the wait doubles (jittered).
        const hint = Math.max(err.retryAfterMs ?? 0, 1_000);
        const ceiling = Math.min(Math.max(capMs, hint), hint * 2 ** (throttledInARow - 1));
        const wait = Math.max(hint, Math.floor(ceiling * (0.5 + 0.5 * random())));
        closedUntil = now() + wait;
        await options.limiter?.onThrottled(err.retryAfterMs).catch(() => undefined);
        throw new PipelineError('RATE_LIMITED', 'the token endpoint answered 429', {
          cause: err,
          context: { ...logContext, route: 'token', inARow: throttledInARow },
          retryAfterMs: wait,
        });
      }
      throw err;
    }
  };
}

function readTokenResponse(
  response: TokenResponse,
  issuedAt: number,
  options: TokenEndpointOptions,
  now: () => number,
): IssuedToken {
  const context = { sourceId: options.sourceId, route: 'token', status: response.status };
  const body = parseJsonObject(response.body);
  if (response.status >= 200 && response.status < 300) {
    const token = body?.access_token;
    const tokenType = body?.token_type;
    const expiresIn = Number(body?.expires_in ?? DEFAULT_EXPIRES_IN_S);
    if (typeof token !== 'string' || token === '' || !(expiresIn > 0)) {
      throw new PipelineError('HTTP_PERMANENT', 'token endpoint answered without a usable access token', {
        context,
      });
    }
    if (tokenType !== undefined && (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer')) {
      throw new PipelineError('HTTP_PERMANENT', 'token endpoint issued a token type other than bearer', {
        context,
      });
    }
    return { token, issuedAt, expiresAt: issuedAt + expiresIn * 1000 };
  }
  const oauthError = typeof body?.error === 'string' ? body.error : undefined;
  const reportedError =
    oauthError === undefined ? undefined : OAUTH_ERRORS.has(oauthError) ? oauthError : 'other';
  if (
    response.status === 400 ||
    response.status === 401 ||
    response.status === 403 ||
    (oauthError !== undefined && REJECTING_ERRORS.has(oauthError))
  ) {
    return rejectAuth(context, reportedError);
  }
  const header = response.headers['retry-after'];
  const retryAfter = parseRetryAfter(
    Array.isArray(header) ? header[0] : header,
    new Date(now()),
    options.retryAfterCapMs ?? 300_000,
  );
  throw fromStatus(response.status, { ...context, oauthError: reportedError }, retryAfter?.ms);
}

function rejectAuth(context: Record<string, string | number>, oauthError: string | undefined): never {
  throw new PipelineError('AUTH_REJECTED', 'the token endpoint rejected the client credentials', {
    context: { ...context, oauthError },
  });
}

function transientTokenFailure(cause: unknown): PipelineError {
  return new PipelineError('HTTP_TRANSIENT', 'token request failed', { cause, context: { route: 'token' } });
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** HTTP Basic with form-encoded id and secret. @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1 */
function basicAuth(clientId: string, secret: string): string {
  const enc = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(secret)}`).toString('base64')}`;
}

/** Signs the SMART client assertion: iss = sub = client id, aud = token URL, unique jti, 5 min expiry. */
function assertionSigner(options: TokenEndpointOptions, now: () => number): () => Promise<string> {
  const auth = options.auth;
  if (auth.kind !== 'jwt') throw new TypeError('assertionSigner needs jwt auth');
  let key: ReturnType<typeof importPKCS8> | undefined;
  return async () => {
    key ??= importPKCS8(auth.privateKeyPem, auth.alg).catch((err: unknown) => {
      key = undefined;
      throw new PipelineError('KEY_MISSING', 'the client assertion private key could not be imported', {
        cause: err,
        context: { sourceId: options.sourceId, alg: auth.alg },
      });
    });
    const issuedAt = Math.floor(now() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg: auth.alg, typ: 'JWT', ...(auth.kid === undefined ? {} : { kid: auth.kid }) })
      .setIssuer(options.clientId)
      .setSubject(options.clientId)
      .setAudience(options.tokenUrl)
      .setJti(randomUUID())
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + ASSERTION_LIFETIME_S)
      .sign(await key);
  };
}

/** The default token fetch: one undici request with a whole-exchange timeout. */
export function undiciTokenFetch(timeoutMs: number): TokenFetch {
  return async ({ url, headers, body }) => {
    const response = await request(url, {
      method: 'POST',
      headers,
      body,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: response.statusCode, headers: response.headers, body: await response.body.text() };
  };
}
