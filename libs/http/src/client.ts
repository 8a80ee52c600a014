import { PipelineError, type ErrorContext } from '@ehrflow/errors';
import type { Dispatcher } from 'undici';
import type { Semaphore, Release } from '@ehrflow/resilience';
import { fromNetworkError, fromStatus, isUsableStatus } from './http-errors.ts';
import { silentLogger, type HttpLogger } from './logger.ts';
import {
  continueFrom,
  fromStart,
  resumeHeaders,
  splitNdjson,
  validatorOf,
  type NdjsonLine,
  type NdjsonPosition,
} from './ndjson.ts';
import type { Priority, RateLimiter } from './rate-limiter.ts';
import { parseRetryAfter } from './retry-after.ts';
import { DEFAULT_RETRY_POLICY, retry, type RetryPolicy } from '@ehrflow/resilience';
import { createPoolCache, type PoolOptions } from './pools.ts';
import { routeOf } from './route.ts';
import type { TokenProvider } from './token-provider.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';
export type ResponseHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** Connection settings (pool size per origin, connect/headers/body timeouts) plus the source's helpers. */
export interface HttpClientOptions extends PoolOptions {
  /** Base URL of the source API; relative paths resolve against it, its path is kept in route labels. */
  readonly baseUrl: string;
  readonly tokenProvider?: TokenProvider;
  readonly limiter?: RateLimiter;
  readonly semaphore?: Semaphore;
  /** Backoff for transient failures and 429s. Default `DEFAULT_RETRY_POLICY`. */
  readonly retryPolicy?: RetryPolicy;
  readonly logger?: HttpLogger;
  /** Priority this client's requests take at the limiter. Default 'incremental'. */
  readonly priority?: Priority;
  /** Longest Retry-After honoured; longer values are capped and logged. Default 5 min. */
  readonly retryAfterCapMs?: number;
  /** Longest NDJSON line accepted. Default 64 MiB. */
  readonly maxLineBytes?: number;
  /** Injected clock for HTTP-date Retry-After values. */
  readonly now?: () => number;
}

export interface RequestOptions {
  readonly headers?: Readonly<Record<string, string>>;
  /** A string or bytes are sent as is; anything else as JSON (`application/fhir+json`). */
  readonly body?: unknown;
  readonly signal?: AbortSignal;
  /** Log label for the path when the default (`routeOf`) is not precise enough. */
  readonly route?: string;
  /** Send the access token. Default: only to the origin of `baseUrl`. */
  readonly authorize?: boolean;
  /** Set false for a request that must not be repeated (a non-idempotent POST). Default true. */
  readonly retry?: boolean;
}

export interface JsonResponse {
  readonly status: number;
  readonly headers: ResponseHeaders;
  /** Parsed JSON, or `undefined` for an empty body. Validate it before use. */
  readonly body: unknown;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: ResponseHeaders;
}

export interface NdjsonOptions extends Omit<RequestOptions, 'body' | 'retry'> {
  /**
   * Resume point (from a committed position or a failure's `resumeOffset`/`resumeLineNo`/
   * with the validator of the last line's `next`), verified: see `resumeHeaders` and `continueFrom`.
   */
  readonly range?: NdjsonPosition;
}

/** Plain counters for the service to export as metrics. */
export interface HttpCounters {
  readonly requests: number;
  readonly retries: number;
  /** 429 answers, from the API and from the token endpoint. */
  readonly rateLimited: number;
  readonly unauthorized: number;
  readonly tokenRefreshes: number;
  /** 429s since the last usable answer (0 once one succeeds): non-zero while the source throttles. */
  readonly throttledInARow: number;
}

export interface HttpClient {
  /** Sends a request and parses a JSON answer; unusable statuses throw a classified `PipelineError`. */
  json(method: HttpMethod, path: string, options?: RequestOptions): Promise<JsonResponse>;
  /** Like `json` but discards the body: for 202 + Content-Location and other header-only flows. */
  raw(method: HttpMethod, path: string, options?: RequestOptions): Promise<RawResponse>;
  /** Streams an NDJSON file line by line with bounded memory; see `splitNdjson` for truncation. */
  ndjsonLines(url: string, options?: NdjsonOptions): AsyncIterable<NdjsonLine>;
  counters(): HttpCounters;
  /** Closes every pool after in-flight requests finish. */
  close(): Promise<void>;
}

/** Reads a usable response; `keepPermit` takes over the concurrency slot for a body read later (a stream). */
type Consume<R> = (
  response: Dispatcher.ResponseData,
  keepPermit: () => Release,
  ctx: ErrorContext,
) => Promise<R>;

interface MutableCounters {
  requests: number;
  retries: number;
  rateLimited: number;
  unauthorized: number;
  throttledInARow: number;
}

/**
 * The one HTTP client every source connector uses. Each attempt: limiter → concurrency slot →
 * access token → request on a bounded undici pool. 401 → invalidate the token, refresh, and
 * send once more (a second 401 is `AUTH_EXPIRED`); 429 → slow the shared limiter and retry after
 * Retry-After; 5xx, resets and timeouts → retry with backoff; other 4xx → `HTTP_PERMANENT`.
 * Logs carry method, route template, status, duration and attempt only.
 */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
  const basePath = base.pathname.replace(/\/$/, '');
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? Date.now;
  const capMs = options.retryAfterCapMs ?? 300_000;
  const policy = options.retryPolicy ?? DEFAULT_RETRY_POLICY;
  const pools = createPoolCache(options);
  const counts: MutableCounters = {
    requests: 0,
    retries: 0,
    rateLimited: 0,
    unauthorized: 0,
    throttledInARow: 0,
  };

  const resolve = (target: string): URL => {
    // A leading slash would drop the base path: '/Patient' is taken relative to baseUrl.
    const url = /^[a-z][a-z0-9+.-]*:/i.test(target)
      ? new URL(target)
      : new URL(target.replace(/^\/+/, ''), base);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new PipelineError('HTTP_PERMANENT', 'only http and https URLs are supported', {
        context: { protocol: url.protocol },
      });
    }
    return url;
  };

  const send = async (
    url: URL,
    method: HttpMethod,
    request: RequestOptions,
    token: string | undefined,
    ctx: ErrorContext,
    attempt: number,
  ): Promise<Dispatcher.ResponseData> => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers ?? {})) headers[name.toLowerCase()] = value;
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    let body: string | Uint8Array | undefined;
    if (typeof request.body === 'string' || request.body instanceof Uint8Array) {
      body = request.body;
    } else if (request.body !== undefined) {
      body = JSON.stringify(request.body);
      headers['content-type'] ??= 'application/fhir+json';
    }
    counts.requests++;
    const started = performance.now();
    try {
      const response = await pools.get(url.origin).request({
        method,
        path: `${url.pathname}${url.search}`,
        headers,
        body,
        signal: request.signal,
      });
      logger.debug(
        { ...ctx, status: response.statusCode, durationMs: Math.round(performance.now() - started), attempt },
        'http response',
      );
      return response;
    } catch (err) {
      logger.debug(
        { ...ctx, durationMs: Math.round(performance.now() - started), attempt },
        'http request failed',
      );
      throw fromNetworkError(err, ctx);
    }
  };

  /** Throws the classified error of an unusable status, after draining the body and telling the limiter. */
  const rejectStatus = async (response: Dispatcher.ResponseData, ctx: ErrorContext): Promise<never> => {
    await response.body.dump().catch(() => undefined);
    const status = response.statusCode;
    let retryAfterMs: number | undefined;
    if (status === 429 || status === 503) {
      const header = response.headers['retry-after'];
      const parsed = parseRetryAfter(Array.isArray(header) ? header[0] : header, new Date(now()), capMs);
      if (parsed?.capped === true) {
        logger.warn(
          { ...ctx, status, retryAfterMs: parsed.ms, form: parsed.form },
          'Retry-After above the cap; capped',
        );
      } else if (parsed?.form === 'epoch') {
        // Not HTTP (RFC 9110 allows delta-seconds or a date), and only right if our clocks agree.
        logger.warn(
          { ...ctx, status, retryAfterMs: parsed.ms, form: parsed.form },
          'Retry-After as an absolute time',
        );
      } else if (parsed?.form === 'date') {
        logger.info(
          { ...ctx, status, retryAfterMs: parsed.ms, form: parsed.form },
          'Retry-After as an absolute time',
        );
      }
      retryAfterMs = parsed?.ms;
    }
    if (status === 429) {
      counts.rateLimited++;
      counts.throttledInARow++;
      try {
        const outcome = await options.limiter?.onThrottled(retryAfterMs);
        if (outcome) logger.debug({ ...ctx, ...outcome }, 'rate limit lowered');
      } catch {
        logger.warn(ctx, 'could not record a 429 at the shared limiter');
      }
    }
    throw fromStatus(status, ctx, retryAfterMs);
  };

  /** A token; a 429 from the token endpoint counts as a 429 like one from the API. */
  const tokenOf = async (provider: TokenProvider): Promise<string> => {
    try {
      return await provider.getToken();
    } catch (err) {
      if (errorCode(err) === 'RATE_LIMITED') {
        // A throttled token endpoint answers waiting callers itself (`notSent`): still throttled,
        // but not one more 429 from the source.
        if (!(err instanceof PipelineError && err.context?.notSent === true)) counts.rateLimited++;
        counts.throttledInARow++;
      }
      throw err;
    }
  };

  const attemptOnce = async <R>(
    method: HttpMethod,
    url: URL,
    request: RequestOptions,
    ctx: ErrorContext,
    attempt: number,
    consume: Consume<R>,
  ): Promise<R> => {
    const { limiter, semaphore, tokenProvider } = options;
    const acquireOptions = { priority: options.priority ?? 'incremental', signal: request.signal };
    await limiter?.acquire(acquireOptions);
    const release = semaphore === undefined ? () => undefined : await semaphore.acquire(request.signal);
    let kept = false;
    try {
      const authorize = tokenProvider !== undefined && (request.authorize ?? url.origin === base.origin);
      let token = authorize ? await tokenOf(tokenProvider) : undefined;
      let response = await send(url, method, request, token, ctx, attempt);
      if (response.statusCode === 401 && token !== undefined && tokenProvider !== undefined) {
        counts.unauthorized++;
        await response.body.dump().catch(() => undefined);
        tokenProvider.invalidate(token);
        token = await tokenOf(tokenProvider);
        await limiter?.acquire(acquireOptions);
        response = await send(url, method, request, token, ctx, attempt);
      }
      if (!isUsableStatus(response.statusCode)) {
        if (response.statusCode === 401) counts.unauthorized++;
        return await rejectStatus(response, ctx);
      }
      counts.throttledInARow = 0;
      await limiter
        ?.onSuccess()
        .catch(() => logger.debug(ctx, 'could not record a success at the shared limiter'));
      try {
        const keepPermit = (): Release => {
          kept = true;
          return release;
        };
        return await consume(response, keepPermit, ctx);
      } catch (err) {
        if (!kept) response.body.destroy();
        throw fromNetworkError(err, { ...ctx, status: response.statusCode });
      }
    } finally {
      if (!kept) release();
    }
  };

  const exchange = async <R>(
    method: HttpMethod,
    target: string,
    request: RequestOptions,
    consume: Consume<R>,
  ): Promise<R> => {
    const url = resolve(target);
    const ctx = { method, route: request.route ?? routeOf(url.pathname, basePath) };
    if (request.retry === false) return attemptOnce(method, url, request, ctx, 1, consume);
    return retry((attempt) => attemptOnce(method, url, request, ctx, attempt, consume), {
      ...policy,
      // The client has already refreshed and resent once on 401; a second 401 fails as auth.
      retryAuthOnce: false,
      signal: request.signal,
      onRetry: (event) => {
        counts.retries++;
        logger.info(
          { ...ctx, attempt: event.attempt, delayMs: event.delayMs, code: errorCode(event.error) },
          'http retry',
        );
        policy.onRetry?.(event);
      },
    });
  };

  return {
    async json(method, path, request = {}) {
      const headers = { accept: 'application/fhir+json', ...request.headers };
      return exchange(method, path, { ...request, headers }, async (response, _keep, ctx) => {
        const text = await response.body.text();
        return { status: response.statusCode, headers: response.headers, body: parseJsonBody(text, ctx) };
      });
    },
    async raw(method, path, request = {}) {
      return exchange(method, path, request, async (response) => {
        await response.body.dump();
        return { status: response.statusCode, headers: response.headers };
      });
    },
    ndjsonLines(url, request = {}) {
      return streamLines(url, request);
    },
    counters: () => ({ ...counts, tokenRefreshes: options.tokenProvider?.refreshes() ?? 0 }),
    close: () => pools.close(),
  };

  async function* streamLines(url: string, request: NdjsonOptions): AsyncGenerator<NdjsonLine> {
    const start = request.range ?? { byteOffset: 0, lineNo: 1 };
    const route = request.route ?? routeOf(resolve(url).pathname, basePath);
    // A resume whose range cannot be verified is read again from the start, skipping by line count.
    const attempts = start.byteOffset > 0 ? [resumeHeaders(start), {}] : [{}];
    for (const [i, extra] of attempts.entries()) {
      const headers: Record<string, string> = {
        accept: 'application/fhir+ndjson',
        ...request.headers,
        ...extra,
      };
      let release: Release = () => undefined;
      const response = await exchange('GET', url, { ...request, headers, route }, (res, keepPermit) => {
        release = keepPermit();
        return Promise.resolve(res);
      });
      try {
        const read =
          i === 0
            ? await beforeFirstLine(
                continueFrom(response.statusCode, response.headers, response.body, start),
                start,
                { method: 'GET', route },
                request.signal,
              )
            : fromStart(response.body, start, validatorOf(response.headers));
        if (read === undefined) {
          logger.info(
            { method: 'GET', route, status: response.statusCode },
            'resumed range not on a line boundary; reading the file from its start',
          );
          continue;
        }
        yield* splitNdjson(read.chunks, {
          ...read.split,
          maxLineBytes: options.maxLineBytes,
          signal: request.signal,
          context: { method: 'GET', route },
        });
        return;
      } finally {
        if (!response.body.destroyed) response.body.destroy();
        release();
      }
    }
  }
}

/**
 * A ranged answer is checked on its first byte before any line is split: a connection that breaks
 * there (a reset right after the headers) is a transient failure to resume from the same position,
 * like one that breaks mid-body, never an unclassified socket error.
 */
async function beforeFirstLine<T>(
  read: Promise<T>,
  start: NdjsonPosition,
  ctx: ErrorContext,
  signal: AbortSignal | undefined,
): Promise<T> {
  try {
    return await read;
  } catch (err) {
    if (err instanceof PipelineError) throw err;
    if (signal?.aborted === true) throw signal.reason;
    throw new PipelineError('HTTP_TRANSIENT', 'the NDJSON stream broke off before its first line', {
      cause: err,
      context: { ...ctx, resumeOffset: start.byteOffset, resumeLineNo: start.lineNo },
    });
  }
}

function parseJsonBody(text: string, ctx: ErrorContext): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new PipelineError('HTTP_PERMANENT', 'the source answered with a body that is not JSON', {
      context: ctx,
    });
  }
}

function errorCode(err: unknown): string | undefined {
  return err instanceof PipelineError ? err.code : undefined;
}
