import { isR4ResourceType } from '@ehrflow/fhir';
import { declareMetrics, metric, type DeclaredMetrics, type ServiceMetrics } from '@ehrflow/service';

/** The validator's own metrics (the consumer runner's counters are exported as gauges). */
export const VALIDATOR_METRICS = {
  /**
   * Outcomes: valid, deletion (a DELETE envelope to ehr.valid.deletions), quarantined,
   * schema_mismatch, too_large (the last two: refused at produce time).
   */
  records: metric.counter(
    'validator_records_total',
    'Raw records validated, by outcome',
    'outcome',
    'resource_type',
  ),
  quarantined: metric.counter(
    'validator_quarantined_total',
    'Records quarantined, by reason',
    'reason',
    'resource_type',
  ),
  /** One series per drift kind: missing_field, unexpected_field, type_changed, fill_rate_drop, unknown_resource_type. */
  drift: metric.counter(
    'validator_drift_observations_total',
    'Records showing drift, by kind',
    'kind',
    'resource_type',
  ),
  driftEvents: metric.counter('validator_drift_events_total', 'Drift events produced to ehr.drift', 'kind'),
  alerts: metric.counter('validator_alerts_total', 'Alerts handed to sinks', 'sink', 'result'),
  consumer: metric.gauge('validator_consumer', 'Consumer runner counters', 'stat'),
};

export type ValidatorMetrics = DeclaredMetrics<typeof VALIDATOR_METRICS>;

/**
 * A resource type as a metric label: FHIR R4 type names only (at most 146 series), anything else
 * is `other` — a `resourceType` that is no type is a value from the record.
 */
export function typeLabel(resourceType: string | null): string {
  return resourceType !== null && isR4ResourceType(resourceType) ? resourceType : 'other';
}

export function createValidatorMetrics(metrics: ServiceMetrics): ValidatorMetrics {
  return declareMetrics(metrics, VALIDATOR_METRICS);
}
