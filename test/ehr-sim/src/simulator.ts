import Fastify, { type FastifyInstance } from 'fastify';
import { registerAdminRoutes } from './admin-routes.ts';
import { AuthServer, type ClientRegistration } from './auth.ts';
import type { FhirResource } from './clinical-resources.ts';
import type { SimContext } from './context.ts';
import { Counters, type CountersSnapshot } from './counters.ts';
import { registerExportRoutes } from './export-routes.ts';
import { ExportJobs } from './export-jobs.ts';
import { FaultInjector, revocationsOf, type Faults, type FaultsInput } from './faults.ts';
import { registerFhirRoutes } from './fhir-routes.ts';
import { ResourceGenerator } from './generator.ts';
import { outcome } from './http-util.ts';
import { resolveOptions, type ResolvedOptions, type SimulatorOptions } from './options.ts';
import { RateLimiter } from './rate-limiter.ts';
import { createLinePacer } from './ndjson-body.ts';
import { installSiteHooks } from './site-hooks.ts';

/** A running (or ready to run) EHR simulator. */
export interface Simulator {
  readonly app: FastifyInstance;
  /** `http://host:port` once started, else undefined. */
  readonly url: string | undefined;
  readonly options: ResolvedOptions;
  /** The data generator, for tests that need the expected resources or canary positions. */
  readonly generator: ResourceGenerator;
  /** Listens (port 0 = any free port) and returns the URL. */
  start(port?: number): Promise<string>;
  stop(): Promise<void>;
  counters(): CountersSnapshot;
  resetCounters(): void;
  /** Merges fault knobs (validated; RangeError on a bad one) and returns the active set. */
  setFaults(partial: FaultsInput): Faults;
  clearFaults(): void;
  /** Makes the client's token requests fail (invalid_client) and its issued tokens 401. */
  revoke(clientId: string): void;
  registerClient(client: ClientRegistration): void;
  /** FHIR base URL of a site (requires a started simulator). */
  fhirBase(site: string): string;
  /** Token endpoint URL of a site (requires a started simulator). */
  tokenUrl(site: string): string;
}

/**
 * Builds a hostile FHIR R4 EHR: several sites of synthetic data, SMART Backend Services auth,
 * Bulk Data export, paged search, a published rate limit, and fault knobs. Deterministic from
 * the seed.
 */
export function createSimulator(options: SimulatorOptions = {}): Simulator {
  const resolved = resolveOptions(options);
  const generator = new ResourceGenerator(resolved.shape, resolved.sites, resolved.canaries);
  const faults = new FaultInjector(resolved.seed, resolved.faults);
  const auth = new AuthServer(resolved.tokenLifetimeSeconds, resolved.clients);
  for (const clientId of revocationsOf(resolved.faults)) auth.revoke(clientId);
  const counters = new Counters();
  const jobs = new ExportJobs(generator, resolved.export);
  const ctx: SimContext = {
    options: resolved,
    generator,
    auth,
    faults,
    counters,
    limiter: new RateLimiter(resolved.rateLimit),
    jobs,
    now: resolved.now,
    pace: createLinePacer(() => faults.faults.servedLinesPerSecond),
    serve(resource: FhirResource): FhirResource {
      counters.add('resourcesServed');
      const result = faults.drift(resource);
      if (result.drifted) counters.add('driftedResources');
      const large = faults.enlarge(result.resource);
      if (large === undefined) return result.resource;
      counters.add('largeResources');
      return large;
    },
    servePlain(resourceType: string): boolean {
      if (faults.drifts(resourceType)) return false;
      counters.add('resourcesServed');
      return true;
    },
  };

  const app = Fastify({ logger: resolved.logger === true });
  const requestLogger = resolved.logger;
  if (typeof requestLogger === 'object') {
    // Route patterns, never URLs: a query string could carry values.
    app.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url ?? 'unmatched';
      requestLogger.info(
        { method: request.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
        'request',
      );
      done();
    });
  }
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(String(body))));
    },
  );
  app.setNotFoundHandler((_request, reply) =>
    reply
      .code(404)
      .type('application/fhir+json')
      .send(outcome('error', 'not-found', 'no such endpoint')),
  );
  app.setErrorHandler((err: { statusCode?: number }, _request, reply) => {
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 ? err.statusCode : 500;
    return reply
      .code(status)
      .type('application/fhir+json')
      .send(outcome('error', status < 500 ? 'invalid' : 'exception', `request failed with status ${status}`));
  });
  void app.register(
    (site, _opts, done) => {
      installSiteHooks(site, ctx);
      registerFhirRoutes(site, ctx);
      registerExportRoutes(site, ctx);
      done();
    },
    { prefix: '/:site' },
  );
  void app.register(
    (admin, _opts, done) => {
      registerAdminRoutes(admin, ctx);
      done();
    },
    { prefix: '/_admin' },
  );
  app.addHook('onClose', (_instance, done) => {
    jobs.close();
    done();
  });

  let url: string | undefined;
  const started = (): string => {
    if (url === undefined) throw new Error('simulator is not started');
    return url;
  };
  return {
    app,
    get url() {
      return url;
    },
    options: resolved,
    generator,
    async start(port = 0) {
      await app.listen({ port, host: resolved.host });
      const address = app.server.address();
      const actual = typeof address === 'object' && address !== null ? address.port : port;
      const host = resolved.host.includes(':') ? `[${resolved.host}]` : resolved.host;
      url = `http://${host}:${actual}`;
      return url;
    },
    async stop() {
      await app.close();
      url = undefined;
    },
    counters: () => counters.snapshot(),
    resetCounters: () => counters.reset(),
    setFaults(partial) {
      const revoke = revocationsOf(partial);
      const active = faults.set(partial);
      for (const clientId of revoke) auth.revoke(clientId);
      return active;
    },
    clearFaults: () => faults.clear(),
    revoke: (clientId) => auth.revoke(clientId),
    registerClient: (client) => auth.register(client),
    fhirBase: (site) => `${started()}/${site}/fhir`,
    tokenUrl: (site) => `${started()}/${site}/auth/token`,
  };
}
