export { runService, type RunServiceOptions, type RunningService, type ServiceHandle } from './lifecycle.ts';
export {
  LABEL_VALUE_PATTERN,
  METRIC_PREFIX,
  SERVICE_LABEL,
  checkLabelNames,
  createMetrics,
  type LabelValues,
  type SafeCounter,
  type SafeGauge,
  type SafeHistogram,
  type ServiceMetrics,
} from './metrics.ts';
export {
  declareMetrics,
  metric,
  type DeclaredMetrics,
  type MetricKind,
  type MetricSpec,
} from './metric-table.ts';
export {
  ReadinessChecks,
  type ReadinessCheck,
  type ReadinessFailureListener,
  type ReadinessReport,
} from './readiness.ts';
export { redactForeignError } from './redact-error.ts';
export { createServiceHttp, type ServiceHttp, type ServiceHttpOptions } from './service-http.ts';
export { errorBody, statusOf, type ErrorBody } from './error-reply.ts';
export {
  DEFAULT_DEPENDENCY_INTERVAL_MS,
  DEFAULT_DEPENDENCY_TIMEOUT_MS,
  createDependencyCheck,
  createDependencyChecks,
  type DependencyCheck,
  type DependencyCheckOptions,
  type DependencyChecks,
  type DependencyProbe,
  type DependencyState,
} from './dependency-checks.ts';
export {
  runStage,
  type StageConfig,
  type StageContext,
  type StageDefinition,
  type StageHandle,
} from './stage.ts';
export {
  createStageKafka,
  stageKafkaConfig,
  type StageKafkaOptions,
  type StageKafkaSettings,
} from './stage-kafka.ts';
export { runConsumerStage, type ConsumerStage, type ConsumerStageOptions } from './consumer-stage.ts';
export {
  openReceiverBase,
  type ReceiverBase,
  type ReceiverBaseOptions,
  type ReceiverStartOptions,
  type RunningReceiverBase,
} from './receiver-base.ts';
export { createFolderPoller, type FolderPoller, type FolderPollerOptions } from './folder-poller.ts';
export { START_WAIT_MS, waitAtStart, type StartWaitOptions } from './start-wait.ts';
export { connectRedis, logTransportWarning, type RedisConnectOptions } from './transport.ts';
