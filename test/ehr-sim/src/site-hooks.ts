import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import type { SimContext } from './context.ts';
import { sendOutcome, type SiteParams } from './http-util.ts';

/**
 * The hostile front door of every site route, in the order a production gateway applies it:
 * unknown site, arrival accounting, latency, rate limit (429), injected 5xx bursts.
 * Callers are keyed by the client of their bearer token, or `ip:<address>` without one (token
 * requests). Each site is its own hospital with its own gateway: its limit applies to its callers
 * only, so token requests for two sites from one address do not share a budget.
 */
export function installSiteHooks(app: FastifyInstance, ctx: SimContext): void {
  app.addHook('onRequest', async (request, reply) => {
    const { site } = request.params as Partial<SiteParams>;
    if (site === undefined || !ctx.generator.hasSite(site))
      return sendOutcome(reply, 404, 'not-found', 'unknown site');
    const key = ctx.auth.clientOf(request.headers.authorization) ?? `ip:${request.ip}`;
    ctx.counters.request(key, ctx.now());
    const latency = ctx.faults.latencyMs();
    if (latency > 0) await sleep(latency);

    const now = ctx.now();
    const { limit } = ctx.limiter.options;
    const decision = ctx.limiter.check(`${site} ${key}`, now);
    if (limit > 0) reply.header('X-RateLimit-Limit', String(ctx.limiter.published));
    if (!decision.allowed) {
      ctx.counters.rateLimited(key);
      reply.header('X-RateLimit-Remaining', '0');
      reply.header('Retry-After', ctx.faults.retryAfterValue(decision.retryAfterMs / 1000, now));
      return sendOutcome(reply, 429, 'throttled', 'request rate limit exceeded');
    }
    if (limit > 0) reply.header('X-RateLimit-Remaining', String(decision.remaining));

    const injected = ctx.faults.nextServerError();
    if (injected !== undefined) {
      ctx.counters.add('serverErrorsInjected');
      if (injected === 503 || injected === 429)
        reply.header('Retry-After', ctx.faults.retryAfterValue(1, now));
      if (injected === 429) return sendOutcome(reply, 429, 'throttled', 'request rate limit exceeded');
      return sendOutcome(reply, injected, 'transient', 'simulated server error');
    }
  });

  app.addHook('onSend', async (_request, reply, payload) => {
    if (reply.statusCode === 401) ctx.counters.add('unauthorized');
    return payload;
  });
}
