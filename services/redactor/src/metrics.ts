import { declareMetrics, metric, type DeclaredMetrics, type ServiceMetrics } from '@ehrflow/service';

/** The redactor's own metrics (the consumer runner's counters are exported as gauges). */
export const REDACTOR_METRICS = {
  records: metric.counter(
    'redactor_records_total',
    'Valid records processed, by outcome (clean, deletion, quarantined)',
    'outcome',
    'resource_type',
  ),
  quarantined: metric.counter(
    'redactor_quarantined_total',
    'Records quarantined by the redactor, by reason',
    'reason',
    'resource_type',
  ),
  /**
   * Free-text values withheld (`[WITHHELD]`); `type` is the resource type, `reason` one of
   * `patient_unknown`, `residual_risk`, `policy`.
   */
  freeTextWithheld: metric.counter(
    'redactor_free_text_withheld_total',
    'Free-text values withheld ([WITHHELD]), by resource type and reason (patient_unknown: the patient identifiers were not available; residual_risk: too many words the detector could not classify; policy: the policy withholds the field)',
    'type',
    'reason',
  ),
  deidSeconds: metric.histogram(
    'redactor_batch_deid_seconds',
    'Time to decrypt and de-identify one chunk (shared patient directory look-ups included)',
    [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
  ),
  consumer: metric.gauge('redactor_consumer', 'Consumer runner counters', 'stat'),
  /**
   * Patients the in-memory directory holds (`held`), may hold (`capacity`,
   * REDACTOR_PATIENT_DIRECTORY_SIZE) and keeps compiled (`compiled`, at most
   * REDACTOR_DIRECTORY_COMPILED_PATIENTS).
   */
  directory: metric.gauge(
    'redactor_patient_directory_patients',
    'Patients held by the in-memory patient directory (measure=held), its bound (measure=capacity) and those whose matcher is kept compiled (measure=compiled); the least recently remembered go first',
    'measure',
  ),
};

export type RedactorMetrics = DeclaredMetrics<typeof REDACTOR_METRICS>;

const TYPE_LABEL = /^[A-Z][A-Za-z]{1,63}$/;

/** A resource type as a metric label: type-shaped names only, anything else is `other`. */
export function typeLabel(resourceType: string | null): string {
  return resourceType !== null && TYPE_LABEL.test(resourceType) ? resourceType : 'other';
}

export function createRedactorMetrics(metrics: ServiceMetrics): RedactorMetrics {
  return declareMetrics(metrics, REDACTOR_METRICS);
}
