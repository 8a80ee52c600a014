import type { FastifyInstance } from 'fastify';
import type { ClientRegistration } from './auth.ts';
import type { SimContext } from './context.ts';
import { revocationsOf, type FaultsInput } from './faults.ts';
import { RESOURCE_TYPES } from './resource-types.ts';

/**
 * Test-control API under /_admin (no auth: the simulator is a test tool). Not rate limited,
 * not counted, never faulted.
 */
export function registerAdminRoutes(app: FastifyInstance, ctx: SimContext): void {
  app.get('/counters', () => ctx.counters.snapshot());

  app.post('/counters/reset', async (_request, reply) => {
    ctx.counters.reset();
    return reply.code(204).send();
  });

  app.get('/faults', () => ctx.faults.faults);

  app.post('/faults', async (request, reply) => {
    try {
      const revoke = revocationsOf(request.body);
      const faults = ctx.faults.set(request.body as FaultsInput);
      for (const clientId of revoke) ctx.auth.revoke(clientId);
      return faults;
    } catch (err) {
      if (err instanceof RangeError)
        return reply.code(400).send({ error: 'invalid_faults', message: err.message });
      throw err;
    }
  });

  app.delete('/faults', async (_request, reply) => {
    ctx.faults.clear();
    return reply.code(204).send();
  });

  app.post('/revoke', async (request, reply) => {
    const clientId = (request.body as { clientId?: unknown } | undefined)?.clientId;
    if (typeof clientId !== 'string' || clientId === '')
      return reply.code(400).send({ error: 'invalid_request', message: 'clientId is required' });
    ctx.auth.revoke(clientId);
    return reply.code(204).send();
  });

  app.get('/clients', () => ({ clientIds: ctx.auth.clientIds() }));

  app.post('/clients', async (request, reply) => {
    try {
      ctx.auth.register(request.body as ClientRegistration);
      return reply.code(201).send();
    } catch (err) {
      if (err instanceof RangeError || err instanceof TypeError)
        return reply.code(400).send({ error: 'invalid_client_metadata', message: err.message });
      throw err;
    }
  });

  app.get('/dataset', () => {
    const { shape, sites } = ctx.options;
    return {
      seed: shape.seed,
      patientsPerSite: shape.patientsPerSite,
      perPatient: shape.perPatient,
      dataEpoch: new Date(shape.epochMs).toISOString(),
      sites: sites.map((site) => ({
        site,
        counts: Object.fromEntries(
          RESOURCE_TYPES.map((type) => [type, ctx.generator.layout(site).count(type)]),
        ),
      })),
    };
  });
}
