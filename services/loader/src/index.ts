/**
 * `@ehrflow/loader`: loads `ehr.clean.<Type>` into PostgreSQL — one typed table per resource
 * type, newest version wins, deletes as tombstones, rows and consumer positions committed in one
 * transaction — plus schema migration at start and per-job reconciliation.
 */
export {
  startLoader,
  type BatchEvent,
  type Loader,
  type LoaderCounters,
  type LoaderOptions,
} from './loader.ts';
export { RESOURCE_TYPES } from './resource-types.ts';
export { createClients, loaderEnv, type LoaderClients, type LoaderConfig } from './config.ts';
export { loaderLag, type LoaderLagDeps } from './lag.ts';
export {
  pipelineTopics,
  reconcile,
  reconcileJobs,
  type ReconcileDeps,
  type ReconcileResult,
  type ReconcileRow,
  type ReconcileStage,
  type ReconcileTopics,
  type TypeCounts,
} from './reconcile.ts';
export { formatReconcile } from './reconcile-format.ts';
export { billingTotals, type BillingTotals } from './reconcile-billing.ts';
export type { MessageCounts } from './reconcile-messages.ts';
export { runCli, EXIT, type CliIo } from './cli.ts';
export {
  migrate,
  planMigration,
  type MigrationPlan,
  type MigrationReport,
  type MigrationTarget,
} from './migrate.ts';
export { tableModelOf, LOADER_COLUMNS, type ColumnModel, type TableModel } from './table-model.ts';
export { KIND_HEADER, isDeleteRecord } from './rows.ts';
export { WRITE_MODES, createWriter, type WriteMode } from './writers.ts';
export { INFRA_TABLES } from './ddl.ts';
export { loadBatch, type BatchRecord, type BeforeCommit } from './load-batch.ts';
export { ident } from './names.ts';
