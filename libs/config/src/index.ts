export {
  ConfigError,
  loadConfig,
  loadConfigOrExit,
  resolveFileVariables,
  type ConfigProblem,
  type Env,
} from './env.ts';
export {
  booleanFlag,
  csv,
  logLevel,
  mode,
  nonNegativeInt,
  pipelineEnv,
  port,
  positiveInt,
  sourceId,
} from './common.ts';
export {
  consumerStageConfig,
  consumerStageEnv,
  consumerStageTopics,
  prefixedEnv,
  receiverStageEnv,
  type ConsumerStageDefaults,
  type ConsumerStageTopics,
  type PrefixedEnv,
} from './stage-env.ts';
export { z } from 'zod';
export {
  kafkaTls,
  pgTls,
  redisTls,
  type KafkaSaslOptions,
  type KafkaSslOptions,
  type KafkaTlsOptions,
  type PgTlsOptions,
  type RedisTlsOptions,
  type TlsClient,
  type TlsVerifyOptions,
  type TlsWarning,
} from './tls.ts';
export { registryTransport, type RegistryTransportOptions } from './registry-transport.ts';
