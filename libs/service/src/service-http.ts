import Fastify, { type FastifyInstance, type FastifyPluginCallback } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from '@ehrflow/logging';
import { createErrorReplier, errorBody } from './error-reply.ts';
import { createMetrics } from './metrics.ts';
import { ReadinessChecks, type ReadinessCheck } from './readiness.ts';
import { redactForeignError } from './redact-error.ts';

export interface ServiceHttpOptions {
  /** Service name: the `service` label of default metrics when no registry is given. */
  readonly name: string;
  /** 0 picks a free port (tests); see `listen()` for the one chosen. */
  readonly port: number;
  readonly host?: string;
  /** From `@ehrflow/logging` `createLogger`: its serializer writes the errors logged here. */
  readonly logger: Logger;
  /** The service's own readiness, registered as the check named `service`. */
  readonly readiness: ReadinessCheck;
  /** The registry `/metrics` exposes; normally `createMetrics(name).registry`. */
  readonly registry?: Registry;
  /** Upper bound for each readiness check; a slower one counts as failed. Default 2000 ms. */
  readonly readinessTimeoutMs?: number;
}

/** The health/readiness/metrics endpoint of a service. */
export interface ServiceHttp {
  /** The fastify instance, for a service that adds its own routes (an admin API) before `listen()`. */
  readonly app: FastifyInstance;
  readonly registry: Registry;
  /** Adds a named check to `/readyz` (e.g. `kafka`, `registry`); names must be unique. */
  addReadinessCheck(name: string, check: ReadinessCheck): void;
  /** From now on `/readyz` answers 503, so the orchestrator stops routing work here while we drain. */
  setDraining(): void;
  /** Starts listening; resolves with the bound address. */
  listen(): Promise<{ host: string; port: number }>;
  /** Stops accepting connections and waits for in-flight requests. Safe to call twice. */
  close(): Promise<void>;
}

const DISPLAY_NAME = Symbol.for('fastify.display-name');
const PLUGIN_META = Symbol.for('plugin-meta');

/** Gives a plugin the name fastify shows in its plugin tree and uses in error messages. */
function named(name: string, plugin: FastifyPluginCallback): FastifyPluginCallback {
  Object.assign(plugin, { [DISPLAY_NAME]: name, [PLUGIN_META]: { name } });
  return plugin;
}

/**
 * Creates the fastify app with `GET /healthz` (the process is alive), `GET /readyz` (every named
 * check passes) and `GET /metrics` (Prometheus text format). Fastify's own logger is off: it
 * would log raw URLs and error messages; errors are logged here through `redactForeignError` and
 * the logger's serializer, and error replies carry a status and a code only.
 * @see https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/
 */
export function createServiceHttp(options: ServiceHttpOptions): ServiceHttp {
  const { logger } = options;
  const registry = options.registry ?? createMetrics(options.name).registry;
  let draining = false;
  const checks = new ReadinessChecks(options.readinessTimeoutMs ?? 2000, (check, outcome, err) => {
    logger.warn(
      { check, outcome, ...(err === undefined ? {} : { err: redactForeignError(err) }) },
      'readiness check failed',
    );
  });
  checks.add('lifecycle', () => !draining);
  checks.add('service', options.readiness);

  const replyWithError = createErrorReplier(logger);
  const app = Fastify({
    logger: false,
    // The probes take no body; a route added later that needs one sets its own `bodyLimit`.
    bodyLimit: 16 * 1024,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    frameworkErrors: (err, request, reply) => {
      replyWithError(err, request, reply);
    },
  });
  app.setErrorHandler(replyWithError);
  app.setNotFoundHandler((_request, reply) => reply.code(404).send(errorBody(404, undefined)));

  void app.register(
    named('ehrflow-healthz', (instance, _options, done) => {
      // Alive means the event loop answers; it deliberately checks no dependency (that is /readyz).
      instance.get('/healthz', { schema: { response: { 200: statusSchema({}) } } }, (_request, reply) =>
        reply.send({ status: 'ok' }),
      );
      done();
    }),
  );

  void app.register(
    named('ehrflow-readyz', (instance, _options, done) => {
      const checksSchema = { type: 'object', additionalProperties: { type: 'boolean' } };
      instance.get(
        '/readyz',
        {
          schema: {
            response: {
              200: statusSchema({ checks: checksSchema }),
              503: statusSchema({ checks: checksSchema }),
            },
          },
        },
        async (_request, reply) => {
          const report = await checks.run();
          return reply
            .code(report.ready ? 200 : 503)
            .send({ status: report.ready ? 'ready' : 'not_ready', checks: report.checks });
        },
      );
      done();
    }),
  );

  void app.register(
    named('ehrflow-metrics', (instance, _options, done) => {
      instance.get('/metrics', async (_request, reply) => {
        const text = await registry.metrics();
        return reply.type(registry.contentType).send(text);
      });
      done();
    }),
  );

  let closing: Promise<void> | undefined;
  return {
    app,
    registry,
    addReadinessCheck: (name, check) => checks.add(name, check),
    setDraining: () => {
      draining = true;
    },
    async listen() {
      await app.listen({ port: options.port, host: options.host ?? '0.0.0.0' });
      const address = app.server.address();
      if (address === null || typeof address === 'string') throw new TypeError('expected a TCP address');
      logger.info({ host: address.address, port: address.port }, 'http listening');
      return { host: address.address, port: address.port };
    },
    close() {
      draining = true;
      closing ??= app.close();
      return closing;
    },
  };
}

function statusSchema(extra: Record<string, unknown>) {
  return {
    type: 'object',
    properties: { status: { type: 'string' }, ...extra },
    required: ['status'],
    additionalProperties: false,
  };
}
