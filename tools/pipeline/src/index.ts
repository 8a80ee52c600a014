export { canaryLabels, canaryValues, demoCanaries } from './canaries.ts';
export { startChild, type Child } from './child.ts';
export { startEhr, type EhrSetup } from './ehr-setup.ts';
export { FINAL_STATES, getJob, startJob, type JobView } from './jobs.ts';
export { formatLeakReport, leakScanPassed, type LeakReport } from './leak-report.ts';
export { runLeakScan } from './leak-scan.ts';
export { provisionPipeline } from './provision.ts';
export { reconcileCli, reconcileGaps, reconcileJobs, type ReconcileJson } from './reconcile-cli.ts';
export { readTopics } from './scan-kafka.ts';
export { createScratch, topicRecordCount, type Scratch } from './scratch.ts';
export { loadOrCreateSecrets } from './secrets.ts';
export {
  fetchMetrics,
  SERVICE_NAMES,
  serviceEnv,
  serviceMain,
  serviceRuntimeEnv,
  startPipelineService,
  startPipelineServices,
  stopPipelineServices,
  sumMetric,
  waitForServiceReady,
  type PipelineServicesOptions,
  type ServiceHandle,
  type ServiceName,
} from './services.ts';
export { loadedRows, snakeCase, stageCounts, topicEnds, type StageCounts } from './stage-counts.ts';
export { formatCount, formatMb, formatMicros, formatRatio, formatTable } from './table.ts';
export { pipelineTopics, RESOURCE_TYPES, type PipelineTopics } from './topic-names.ts';
export {
  BILLING_CANARY,
  billingCanaryLabels,
  billingCanaryValues,
  billingDropTotals,
  billingReceiverCounts,
  billingReconciliation,
  countAcks,
  dropBillingFiles,
  startBillingReceiver,
  type BillingDemoReport,
  type BillingDrop,
  type BillingReceiver,
} from './billing-feed.ts';
export {
  HL7_CANARIES,
  hl7CanaryLabels,
  hl7CanaryValues,
  hl7Plan,
  receiverCounts,
  runHl7Feed,
  startHl7Receiver,
  type Hl7FeedResult,
  type Hl7Plan,
  type Hl7Receiver,
} from './hl7-feed.ts';
