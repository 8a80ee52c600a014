/** `@ehrflow/validator`: the ingestion gate. Services do not import services; this is for tooling and tests. */
export { loadValidatorConfig, validatorEnv, type ValidatorConfig, type ValidatorTopics } from './config.ts';
export { buildValidator, startValidator, type RunningValidator, type ValidatorParts } from './service.ts';
export { createContractCache } from './contract-cache.ts';
export { replay, type ReplayResult, type ReplaySource } from './replay.ts';
export {
  createRecordValidator,
  type Outcome,
  type RawInput,
  type RecordValidator,
} from './validate-record.ts';
export type { Alert, AlertSignal, AlertSink } from './alerts/alert.ts';
