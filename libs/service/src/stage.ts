import {
  ConfigError,
  kafkaTls,
  loadConfigOrExit,
  type Env,
  type KafkaTlsOptions,
  type z,
} from '@ehrflow/config';
import { applyServiceHeapFlags } from '@ehrflow/config/node-options';
import { createRegistryProbe } from '@ehrflow/contracts';
import { createKafkaProbe, type KafkaClient } from '@ehrflow/kafka';
import { createLogger, type Logger } from '@ehrflow/logging';
import type { FastifyInstance } from 'fastify';
import { createDependencyChecks } from './dependency-checks.ts';
import { runService, type RunningService } from './lifecycle.ts';
import { createMetrics, type ServiceMetrics } from './metrics.ts';
import type { ReadinessCheck } from './readiness.ts';
import { createServiceHttp } from './service-http.ts';
import { createStageKafka, stageKafkaConfig, type StageKafkaSettings } from './stage-kafka.ts';
import { logTransportWarning } from './transport.ts';

/** What `runStage` itself reads from a stage's configuration (`pipelineEnv` provides all of it). */
export interface StageConfig extends StageKafkaSettings {
  readonly LOG_LEVEL: string;
  readonly SCHEMA_REGISTRY_URL: string;
  readonly HTTP_PORT: number;
  readonly SHUTDOWN_TIMEOUT_MS: number;
}

/** Everything a stage gets from the skeleton, made once per process. */
export interface StageContext<C> {
  /** The stage's validated configuration. */
  readonly config: C;
  /** The raw environment (what `kafkaTls`, `redisTls` and `pgTls` read). */
  readonly env: Env;
  readonly logger: Logger;
  /** The registry `/metrics` serves; stage metrics are added to it. */
  readonly metrics: ServiceMetrics;
  /** Kafka TLS and SASL, read once with `kafkaTls` (its warning is logged already). */
  readonly kafkaTransport: KafkaTlsOptions;
  /** A Kafka client on that transport; `clientId` wins over `KAFKA_CLIENT_ID` and `ehrflow-<name>`. */
  readonly kafka: (clientId?: string) => KafkaClient;
  /** Drains and exits as SIGTERM does (e.g. the stage's work stopped by itself). */
  readonly shutdown: (trigger: string, exitCode?: 0 | 1) => Promise<void>;
}

/** What a started stage hands back. */
export interface StageHandle {
  /** The stage's own readiness (`/readyz` check `service`); Kafka and the registry are checked too. */
  readonly ready: ReadinessCheck;
  /** Stops taking work and finishes what is in flight. */
  stop(): Promise<void>;
  /**
   * Settles when the stage's work ends. A rejection (a permanent failure) is logged and drains
   * the process with exit code 1.
   */
  readonly done?: Promise<void>;
  /** PHI-free fields of the `<name> started` line (ports, delivery mode, policy name). */
  readonly started?: Readonly<Record<string, unknown>>;
  /** Routes of the stage's own (an admin API), added before the HTTP server listens. */
  routes?(app: FastifyInstance): void;
  /** Called once the HTTP server listens (start work that should wait for it). */
  listening?(): void;
}

export interface StageDefinition<S extends z.ZodObject> {
  /** Service name: logger name, `service` metric label, default Kafka client id `ehrflow-<name>`. */
  readonly name: string;
  /** Printed by `--help` / `-h` (exit 0). */
  readonly usage: string;
  /** The zod schema of the stage's environment; it must include `pipelineEnv`'s Kafka and HTTP keys. */
  readonly env: z.infer<S> extends StageConfig ? S : never;
  /** Wires the stage's own parts; called once configuration, logger, metrics and Kafka are set. */
  start(context: StageContext<z.infer<S>>): Promise<StageHandle>;
  /** Command line (tests); process.argv by default. */
  readonly argv?: readonly string[];
  /** Environment (tests); process.env by default. */
  readonly environment?: Env;
}

/**
 * Runs a pipeline stage process. The skeleton every service shares:
 * `--help`; configuration validated with zod (exit 78 listing every problem by variable name);
 * the Kafka transport read once with `kafkaTls` and its plaintext/SASL warning logged; the logger
 * and the metrics registry; then the stage's `start`, and around it `/healthz`, `/readyz` (the
 * stage's readiness plus Kafka and registry probes, each asked at most every 5 s) and `/metrics`;
 * the `<name> started` line; and the lifecycle of {@link runService} (drain on SIGTERM/SIGINT,
 * exit 1 on failures). A `ConfigError` thrown by `start` (a bad sources file) also exits 78.
 * Before all that, the service's V8 heap flags (`applyServiceHeapFlags`).
 */
/** Printed after every stage's own usage: the transport settings every service reads the same way. */
export const TRANSPORT_USAGE = `
Transport settings, read the same way by every service (docs/operations.md):
  KAFKA_SSL, KAFKA_SSL_CA               TLS to Kafka (plaintext logs a warning at start)
  KAFKA_SSL_CERT, KAFKA_SSL_KEY         mutual TLS: client certificate and key (path or PEM)
  KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD(_FILE)   SASL/SCRAM
  SCHEMA_REGISTRY_CA                    the registry's own CA (path to a PEM file, or the PEM)
  SCHEMA_REGISTRY_USERNAME(_FILE), SCHEMA_REGISTRY_PASSWORD(_FILE)        registry basic auth
`;

export async function runStage<S extends z.ZodObject>(
  definition: StageDefinition<S>,
): Promise<RunningService> {
  const { name } = definition;
  const argv = definition.argv ?? process.argv;
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(definition.usage.endsWith('\n') ? definition.usage : `${definition.usage}\n`);
    process.stdout.write(TRANSPORT_USAGE);
    process.exit(0);
  }
  // Tests pass their own `environment` and run many stages in one process: heap flags are a
  // process's, set only for a real start.
  if (definition.environment === undefined) applyServiceHeapFlags(name);
  const env = definition.environment ?? process.env;
  const config = loadConfigOrExit(definition.env as S, name, env);
  const settings = config as z.infer<S> & StageConfig;
  const kafkaTransport = readOrExit(name, () => kafkaTls(env));
  const logger = createLogger({ name, level: settings.LOG_LEVEL });
  logTransportWarning(logger, kafkaTransport.warning);
  const metrics = createMetrics(name);
  const defaultClientId = `ehrflow-${name}`;

  // The context's `shutdown` needs the running service, which exists only once `start` returned.
  const lifecycle: { running?: RunningService } = {};
  const context: StageContext<z.infer<S>> = {
    config,
    env,
    logger,
    metrics,
    kafkaTransport,
    kafka: (clientId) =>
      createStageKafka(settings, { logger, defaultClientId, clientId, transport: kafkaTransport }),
    shutdown: (trigger, exitCode) => lifecycle.running?.shutdown(trigger, exitCode) ?? Promise.resolve(),
  };

  // `done` may reject before runService returns: remember it, and drain once `running` exists.
  let failedEarly: { readonly err: unknown } | undefined;
  let onFailed = (err: unknown): void => {
    failedEarly = { err };
  };
  const running = await runService({
    name,
    logger,
    shutdownTimeoutMs: settings.SHUTDOWN_TIMEOUT_MS,
    async start() {
      const stage = await definition.start(context).catch((err: unknown) => {
        if (!(err instanceof ConfigError)) throw err;
        exitWithProblems(name, err);
      });
      const http = createServiceHttp({
        name,
        port: settings.HTTP_PORT,
        logger,
        registry: metrics.registry,
        readiness: stage.ready,
      });
      const dependencies = createDependencyChecks(
        {
          kafka: createKafkaProbe(
            stageKafkaConfig(settings, {
              logger,
              defaultClientId,
              transport: kafkaTransport,
              clientId: `${settings.KAFKA_CLIENT_ID ?? defaultClientId}-probe`,
            }),
          ),
          registry: createRegistryProbe({ url: settings.SCHEMA_REGISTRY_URL }),
        },
        { logger },
      );
      dependencies.addTo(http);
      stage.routes?.(http.app);
      const address = await http.listen();
      // One line a supervisor (or a test) can wait for: ports and modes, no configuration values.
      logger.info({ port: address.port, ...stage.started }, `${name} started`);
      stage.listening?.();
      stage.done?.catch((err: unknown) => onFailed(err));
      return { http, stop: () => stage.stop().finally(() => dependencies.close()) };
    },
  });
  onFailed = (err) => {
    logger.fatal({ err }, `${name} failed permanently`);
    void running.shutdown(`${name}-failed`, 1);
  };
  lifecycle.running = running;
  if (failedEarly !== undefined) onFailed(failedEarly.err);
  return running;
}

function readOrExit<T>(name: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    exitWithProblems(name, err);
  }
}

function exitWithProblems(name: string, err: ConfigError): never {
  const lines = err.problems.map((p) => `  ${p.variable}: ${p.reason}\n`).join('');
  process.stderr.write(`${name}: invalid configuration\n${lines}`);
  process.exit(78); // EX_CONFIG, as loadConfigOrExit
}
