import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isTokenError } from './auth.ts';
import type { SimContext } from './context.ts';
import {
  all,
  bearerGuard,
  FHIR_JSON,
  originOf,
  parseInstant,
  sendOutcome,
  single,
  type Query,
  type SiteParams,
} from './http-util.ts';
import { indexOfId, isResourceType, resourceId, SERVED_TYPES, type ResourceType } from './resource-types.ts';

/** Extension URL under which metadata publishes the rate limit. */
export const RATE_LIMIT_EXTENSION = 'urn:ehrflow:ehr-sim:rate-limit';
const DEFAULT_PAGE = 50;
const MAX_PAGE = 1000;

/** Metadata, SMART discovery, token endpoint, search and read of one site. */
export function registerFhirRoutes(app: FastifyInstance, ctx: SimContext): void {
  const guard = bearerGuard(ctx);

  app.get<{ Params: SiteParams }>('/fhir/metadata', async (request, reply) => {
    return reply.type(FHIR_JSON).send(capabilityStatement(ctx, originOf(request), request.params.site));
  });

  app.get<{ Params: SiteParams }>('/fhir/.well-known/smart-configuration', (request) => ({
    token_endpoint: `${originOf(request)}/${request.params.site}/auth/token`,
    token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_basic', 'client_secret_post'],
    token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
    grant_types_supported: ['client_credentials'],
    scopes_supported: ['system/*.read', 'system/*.rs'],
    capabilities: ['client-confidential-asymmetric', 'client-confidential-symmetric'],
  }));

  app.post<{ Params: SiteParams }>('/auth/token', async (request, reply) => {
    const { site } = request.params;
    const form = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<
      string,
      string
    >;
    const result = await ctx.auth.issue({
      site,
      form,
      authorization: request.headers.authorization,
      tokenUrl: `${originOf(request)}/${site}/auth/token`,
      now: ctx.now(),
    });
    reply.header('Cache-Control', 'no-store').header('Pragma', 'no-cache');
    if (isTokenError(result)) {
      if (result.status === 401 && /^Basic /i.test(request.headers.authorization ?? ''))
        reply.header('WWW-Authenticate', 'Basic realm="ehr-sim"');
      return reply.code(result.status).send({ error: result.error, error_description: result.description });
    }
    ctx.counters.add('tokensIssued');
    return result;
  });

  app.get<{ Params: SiteParams & { type: string }; Querystring: Query }>(
    '/fhir/:type',
    { preHandler: guard },
    async (request, reply) => {
      const { type } = request.params;
      if (!isResourceType(type))
        return sendOutcome(reply, 404, 'not-supported', 'resource type is not served');
      return search(ctx, request, reply, type);
    },
  );

  app.get<{ Params: SiteParams & { type: string; id: string } }>(
    '/fhir/:type/:id',
    { preHandler: guard },
    async (request, reply) => {
      const { site, type, id } = request.params;
      if (!isResourceType(type))
        return sendOutcome(reply, 404, 'not-supported', 'resource type is not served');
      const index = indexOfId(type, id);
      if (index === undefined || index >= ctx.generator.layout(site).count(type))
        return sendOutcome(reply, 404, 'not-found', `${type} not found`);
      const meta = ctx.generator.meta(site, type, index);
      if (meta.deleted) return sendOutcome(reply, 410, 'deleted', `${type}/${id} was deleted`);
      reply
        .header('ETag', `W/"${meta.versionId}"`)
        .header('Last-Modified', new Date(meta.lastUpdatedMs).toUTCString());
      return reply.type(FHIR_JSON).send(ctx.serve(ctx.generator.resource(site, type, index)));
    },
  );
}

type Comparison = { readonly op: 'gt' | 'ge' | 'lt' | 'le'; readonly ms: number };

function parseLastUpdated(values: readonly string[]): Comparison[] | undefined {
  const out: Comparison[] = [];
  for (const value of values) {
    const match = /^(gt|ge|lt|le)(.+)$/.exec(value);
    const ms = match?.[2] === undefined ? undefined : parseInstant(match[2]);
    if (match === null || ms === undefined) return undefined;
    out.push({ op: match[1] as Comparison['op'], ms });
  }
  return out;
}

function matches(ms: number, filters: readonly Comparison[]): boolean {
  return filters.every(({ op, ms: at }) => {
    switch (op) {
      case 'gt':
        return ms > at;
      case 'ge':
        return ms >= at;
      case 'lt':
        return ms < at;
      case 'le':
        return ms <= at;
    }
  });
}

/**
 * Type search by `_lastUpdated` (gt/ge/lt/le, repeatable) with `_count` paging. Pages walk the
 * index space; the `next` link carries the index of the next match in `_cursor`, so no page is empty.
 * @see https://hl7.org/fhir/R4/http.html#paging
 */
async function search(
  ctx: SimContext,
  request: FastifyRequest<{ Params: SiteParams; Querystring: Query }>,
  reply: FastifyReply,
  type: ResourceType,
): Promise<FastifyReply> {
  const { site } = request.params;
  const query = request.query;
  const filters = parseLastUpdated(all(query, '_lastUpdated'));
  if (filters === undefined)
    return sendOutcome(reply, 400, 'invalid', '_lastUpdated must be gt|ge|lt|le followed by an instant');
  const countText = single(query, '_count') ?? String(DEFAULT_PAGE);
  const cursorText = single(query, '_cursor') ?? '0';
  if (!/^\d{1,9}$/.test(countText) || !/^\d{1,15}$/.test(cursorText))
    return sendOutcome(reply, 400, 'invalid', '_count and _cursor must be non-negative integers');
  const pageSize = Math.min(MAX_PAGE, Math.max(1, Number(countText)));
  const total = ctx.generator.layout(site).count(type);
  const hit = (index: number): boolean => {
    const meta = ctx.generator.meta(site, type, index);
    return !meta.deleted && matches(meta.lastUpdatedMs, filters);
  };

  const indexes: number[] = [];
  let index = Number(cursorText);
  for (; index < total && indexes.length < pageSize; index++) if (hit(index)) indexes.push(index);
  while (index < total && !hit(index)) index++;

  const base = `${originOf(request)}/${site}/fhir`;
  const params = new URLSearchParams();
  for (const value of all(query, '_lastUpdated')) params.append('_lastUpdated', value);
  params.set('_count', String(pageSize));
  const link = [{ relation: 'self', url: `${originOf(request)}${request.url}` }];
  if (index < total) {
    params.set('_cursor', String(index));
    link.push({ relation: 'next', url: `${base}/${type}?${params.toString()}` });
  }
  const bundle: Record<string, unknown> = {
    resourceType: 'Bundle',
    type: 'searchset',
    meta: { lastUpdated: new Date(ctx.now()).toISOString() },
    link,
    entry: indexes.map((i) => ({
      fullUrl: `${base}/${type}/${resourceId(type, i)}`,
      resource: ctx.serve(ctx.generator.resource(site, type, i)),
      search: { mode: 'match' },
    })),
  };
  if (single(query, '_total') === 'accurate') {
    let count = 0;
    for (let i = 0; i < total; i++) if (hit(i)) count++;
    bundle.total = count;
  }
  return reply.type(FHIR_JSON).send(bundle);
}

function capabilityStatement(ctx: SimContext, origin: string, site: string): Record<string, unknown> {
  const { windowMs, window } = ctx.limiter.options;
  const limit = ctx.limiter.published;
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date(ctx.options.shape.epochMs).toISOString(),
    kind: 'instance',
    software: { name: 'ehrflow ehr-sim (synthetic data only)' },
    implementation: { description: `Simulated EHR site ${site}`, url: `${origin}/${site}/fhir` },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json'],
    extension: [
      {
        url: RATE_LIMIT_EXTENSION,
        extension: [
          { url: 'limit', valueInteger: limit },
          { url: 'windowSeconds', valueDecimal: windowMs / 1000 },
          { url: 'window', valueCode: window },
        ],
      },
    ],
    rest: [
      {
        mode: 'server',
        security: {
          extension: [
            {
              url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
              extension: [{ url: 'token', valueUri: `${origin}/${site}/auth/token` }],
            },
          ],
          service: [
            {
              coding: [
                {
                  system: 'http://terminology.hl7.org/CodeSystem/restful-security-service',
                  code: 'SMART-on-FHIR',
                },
              ],
            },
          ],
        },
        resource: SERVED_TYPES.map((type) => ({
          type,
          interaction: [{ code: 'read' }, { code: 'search-type' }],
          searchParam: [{ name: '_lastUpdated', type: 'date' }],
        })),
        operation: [
          { name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export' },
        ],
      },
    ],
  };
}
