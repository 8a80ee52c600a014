import { declareMetrics, metric, type DeclaredMetrics, type ServiceMetrics } from '@ehrflow/service';

/** The receiver's metrics: outcome labels only (no sender, no file name). */
export const BILLING_METRICS = {
  files: metric.counter('x12_files_total', 'Files by outcome (accepted, duplicate, rejected)', 'outcome'),
  sets: metric.counter(
    'x12_transaction_sets_total',
    'Transaction sets written to ehr.raw or recognised as duplicates',
    'outcome',
  ),
};

export type BillingMetrics = DeclaredMetrics<typeof BILLING_METRICS>;

export function createBillingMetrics(service: ServiceMetrics): BillingMetrics {
  return declareMetrics(service, BILLING_METRICS);
}
