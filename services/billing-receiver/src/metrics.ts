import type { SafeCounter, ServiceMetrics } from '@ehrflow/service';

/** The receiver's metrics: outcome labels only (no sender, no file name). */
export interface BillingMetrics {
  readonly files: SafeCounter<'outcome'>;
  readonly sets: SafeCounter<'outcome'>;
}

export function createBillingMetrics(service: ServiceMetrics): BillingMetrics {
  return {
    files: service.counter('x12_files_total', 'Files by outcome (accepted, duplicate, rejected)', [
      'outcome',
    ]),
    sets: service.counter(
      'x12_transaction_sets_total',
      'Transaction sets written to ehr.raw or recognised as duplicates',
      ['outcome'],
    ),
  };
}
