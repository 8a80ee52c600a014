/** `@ehrflow/redactor`: the de-identification stage, ehr.valid.<Type> → ehr.clean.<Type> (and ehr.valid.deletions → ehr.clean.deletions). */
export {
  planCleanSchemas,
  registerCleanSchemas,
  verifyCleanSchemas,
  type CleanPlan,
  type CleanRegistration,
  type PlanOptions,
  type TypePlan,
  type ValidContract,
} from './clean-schemas.ts';
export { runCli, type CliIo } from './commands.ts';
export {
  DEFAULT_RESOURCE_TYPES,
  loadRedactorConfig,
  redactorEnv,
  topicsOf,
  type RedactorConfig,
  type RedactorTopics,
} from './config.ts';
export { createDecryptor, type Decryptor } from './decrypt.ts';
export {
  createDeletionRedactor,
  planDeletions,
  registerDeletionSchemas,
  verifyDeletionSchemas,
  type DeletionPlan,
  type DeletionRedactor,
} from './deletions.ts';
export { createRedactHandler, typeOfTopic, type RedactHandler, type RedactHandlerDeps } from './handler.ts';
export { startRedactor, type RedactorOptions, type RunningRedactor } from './service.ts';
