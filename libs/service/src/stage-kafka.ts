import { kafkaTls, type Env, type KafkaTlsOptions } from '@ehrflow/config';
import {
  createKafka,
  type KafkaClient,
  type KafkaClientConfig,
  type KafkaLogger,
  type KafkaMode,
} from '@ehrflow/kafka';

/** The Kafka settings every stage's zod configuration carries (`pipelineEnv` of `@ehrflow/config`). */
export interface StageKafkaSettings {
  readonly KAFKA_BROKERS: readonly string[];
  readonly KAFKA_CLIENT_ID?: string | undefined;
  readonly EHRFLOW_MODE: KafkaMode;
}

export interface StageKafkaOptions {
  readonly logger: KafkaLogger;
  /** The client id when neither `clientId` nor `KAFKA_CLIENT_ID` is given (`ehrflow-<stage>`). */
  readonly defaultClientId: string;
  /** A client id that wins over `KAFKA_CLIENT_ID` (a CLI's or a test's own client). */
  readonly clientId?: string | undefined;
  /** TLS and SASL already read with `kafkaTls`; read from `env` otherwise. */
  readonly transport?: KafkaTlsOptions;
  /** Environment `kafkaTls` reads when no `transport` is given; process.env by default. */
  readonly env?: Env;
}

/**
 * The kafkajs client configuration of a stage: brokers and mode from its validated settings,
 * TLS and SASL only from `kafkaTls` of `@ehrflow/config` (the one reader of the Kafka transport
 * variables), the client id from the caller, `KAFKA_CLIENT_ID` or the default, in that order. Logs nothing: whoever reads the
 * transport for a process logs its warning once (`runStage` does).
 * @throws ConfigError from `kafkaTls`, listing inconsistent transport variables by name.
 */
export function stageKafkaConfig(
  settings: StageKafkaSettings,
  options: StageKafkaOptions,
): KafkaClientConfig {
  const transport = options.transport ?? kafkaTls(options.env ?? process.env);
  const clientId = options.clientId ?? settings.KAFKA_CLIENT_ID ?? options.defaultClientId;
  return {
    brokers: settings.KAFKA_BROKERS,
    clientId,
    logger: options.logger,
    mode: settings.EHRFLOW_MODE,
    ...(transport.ssl ? { ssl: transport.ssl } : {}),
    // The object kafkaTls built, not a copy: kafkajs keeps its authenticator on it.
    ...(transport.sasl ? { sasl: transport.sasl } : {}),
  };
}

/** A Kafka client made with {@link stageKafkaConfig}. */
export function createStageKafka(settings: StageKafkaSettings, options: StageKafkaOptions): KafkaClient {
  return createKafka(stageKafkaConfig(settings, options));
}
