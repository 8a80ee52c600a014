/**
 * Authentication of the extractor's jobs API (`/jobs…`): a bearer token from a mounted secret
 * (`EXTRACTOR_ADMIN_TOKEN_FILE`, or `EXTRACTOR_ADMIN_TOKEN`), compared in constant time; failed
 * attempts are counted (metric and log, never the presented token) and a client address with too
 * many failures in a window is refused with 429 until the window ends, whatever it presents.
 * `/healthz`, `/readyz` and `/metrics` stay open (the NetworkPolicy limits who reaches them).
 * A hand-written hook, not a plugin: it is one comparison and one counter per address, and the
 * routes file is left alone.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { resolveFileVariables, type Env } from '@ehrflow/config';
import type { Logger } from '@ehrflow/logging';
import type { ServiceMetrics } from '@ehrflow/service';

export interface AdminAuthOptions {
  /** The expected token; undefined leaves the API open (logged as a warning at start). */
  readonly token: string | undefined;
  readonly logger: Logger;
  readonly metrics?: ServiceMetrics;
  /** Failures per client address and window before it is refused (default 10). */
  readonly maxFailures?: number;
  readonly windowMs?: number;
  readonly now?: () => number;
}

export const ADMIN_TOKEN_MIN_LENGTH = 32;

/** The token from `EXTRACTOR_ADMIN_TOKEN` or the file `EXTRACTOR_ADMIN_TOKEN_FILE` names. */
export function adminTokenFromEnv(env: Env): string | undefined {
  const { env: vars, problems } = resolveFileVariables(env, ['EXTRACTOR_ADMIN_TOKEN']);
  if (problems.length > 0)
    throw new Error(`EXTRACTOR_ADMIN_TOKEN: ${problems.map((p) => p.reason).join('; ')}`);
  const token = vars.EXTRACTOR_ADMIN_TOKEN;
  if (token !== undefined && token.length < ADMIN_TOKEN_MIN_LENGTH)
    throw new Error(`EXTRACTOR_ADMIN_TOKEN: shorter than ${ADMIN_TOKEN_MIN_LENGTH} characters`);
  return token;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Adds the hook; call before the job routes are registered. */
export function registerAdminAuth(app: FastifyInstance, options: AdminAuthOptions): void {
  const now = options.now ?? Date.now;
  const maxFailures = options.maxFailures ?? 10;
  const windowMs = options.windowMs ?? 60_000;
  const failures = new Map<string, { count: number; windowStart: number }>();
  const counter = options.metrics?.counter(
    'extractor_admin_auth_failures_total',
    'Refused jobs API requests',
    ['reason'],
  );
  if (options.token === undefined) {
    options.logger.warn('EXTRACTOR_ADMIN_TOKEN is not set: the jobs API answers anyone who reaches the port');
    return;
  }
  // Digests have equal length whatever the input, so timingSafeEqual never throws or leaks length.
  const expected = digest(options.token);

  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/jobs')) return;
    const client = request.ip;
    const t = now();
    let entry = failures.get(client);
    if (entry !== undefined && t - entry.windowStart >= windowMs) {
      failures.delete(client);
      entry = undefined;
    }
    if (entry !== undefined && entry.count >= maxFailures) {
      counter?.inc({ reason: 'rate_limited' });
      const retryAfter = Math.ceil((entry.windowStart + windowMs - t) / 1000);
      return reply
        .code(429)
        .header('retry-after', String(Math.max(1, retryAfter)))
        .send({ statusCode: 429, error: 'Too Many Requests', code: 'RATE_LIMITED' });
    }
    const header = request.headers.authorization;
    const presented = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
    if (presented !== undefined && timingSafeEqual(digest(presented), expected)) return;

    const reason = presented === undefined ? 'missing' : 'invalid';
    counter?.inc({ reason });
    if (failures.size >= 10_000) failures.clear(); // bounded memory under a spray of addresses
    const updated = entry ?? { count: 0, windowStart: t };
    updated.count += 1;
    failures.set(client, updated);
    options.logger.warn({ reason, client, failures: updated.count }, 'jobs API request refused');
    return reply
      .code(401)
      .header('www-authenticate', 'Bearer')
      .send({ statusCode: 401, error: 'Unauthorized', code: 'AUTH_REJECTED' });
  });
}
