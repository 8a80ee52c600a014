/**
 * The Prometheus alert rules of a deployment, as a PrometheusRule. Every alert names a metric the
 * services export (`ehrflow_*`, labels are codes and resource types, never record values) or the
 * consumer-group lag of a Kafka exporter (`kafka_consumergroup_lag`). What each alert means and
 * the first thing to check: docs/operations.md.
 */
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import type { DeployValues } from './values.ts';

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly severity: 'page' | 'ticket';
  readonly summary: string;
}

/** The rules; `docs/operations.md` has a section per alert name (a test checks it). */
export function alertList(values: DeployValues): AlertRule[] {
  const ns = values.namespace;
  const groups = Object.values(values.services)
    .map((s) => s.lag?.group)
    .filter((g): g is string => g !== undefined);
  return [
    {
      alert: 'EhrflowServiceDown',
      expr: `up{namespace="${ns}", service=~"${values.release}-.*"} == 0`,
      for: '5m',
      severity: 'page',
      summary: 'A service replica does not answer /metrics',
    },
    {
      alert: 'EhrflowNotReady',
      expr: `kube_deployment_status_replicas_available{namespace="${ns}", deployment=~"${values.release}-.*"} < 1`,
      for: '5m',
      severity: 'page',
      summary: 'A stage has no ready replica: its input topic grows',
    },
    {
      alert: 'EhrflowConsumerLagHigh',
      expr: `sum by (consumergroup) (kafka_consumergroup_lag{consumergroup=~"${groups.join('|')}"}) > 50000`,
      for: '15m',
      severity: 'ticket',
      summary: 'A consumer group is more than 50k records behind for 15 minutes',
    },
    {
      alert: 'EhrflowConsumerLagGrowing',
      expr: `sum by (consumergroup) (delta(kafka_consumergroup_lag{consumergroup=~"${groups.join('|')}"}[30m])) > 0 and sum by (consumergroup) (kafka_consumergroup_lag{consumergroup=~"${groups.join('|')}"}) > 1000`,
      for: '30m',
      severity: 'page',
      summary: 'A consumer group falls further behind for 30 minutes (stuck or under-scaled)',
    },
    {
      alert: 'EhrflowQuarantineSpike',
      expr: `sum by (reason) (rate(ehrflow_validator_quarantined_total{namespace="${ns}"}[10m])) > 1`,
      for: '10m',
      severity: 'ticket',
      summary: 'Records are quarantined at more than 1/s for one reason (drift or a broken source)',
    },
    {
      alert: 'EhrflowSchemaDrift',
      expr: `sum by (kind) (increase(ehrflow_validator_drift_events_total{namespace="${ns}"}[15m])) > 0`,
      for: '0m',
      severity: 'ticket',
      summary: 'A source changed the shape of its data (see ehr.drift)',
    },
    {
      alert: 'EhrflowAlertDeliveryFailing',
      expr: `sum(rate(ehrflow_validator_alerts_total{namespace="${ns}", result!="sent"}[15m])) > 0`,
      for: '15m',
      severity: 'ticket',
      summary: 'The validator cannot deliver alerts to the webhook',
    },
    {
      alert: 'EhrflowJobFailed',
      expr: `sum by (source, reason) (increase(ehrflow_extractor_jobs_finished_total{namespace="${ns}", state="failed"}[1h])) > 0`,
      for: '0m',
      severity: 'page',
      summary: 'An extraction job failed (auth, contract or retries exhausted)',
    },
    {
      alert: 'EhrflowSourceThrottled',
      expr: `sum by (source) (rate(ehrflow_extractor_http_throttled_total{namespace="${ns}"}[15m])) > 0.1`,
      for: '30m',
      severity: 'ticket',
      summary: 'A source answers 429 persistently: the published limit or the headroom is wrong',
    },
    {
      alert: 'EhrflowRestarting',
      expr: `increase(kube_pod_container_status_restarts_total{namespace="${ns}", container=~"extractor|validator|redactor|loader"}[30m]) > 3`,
      for: '0m',
      severity: 'ticket',
      summary: 'A container restarts repeatedly (crash, OOM or failing liveness)',
    },
  ];
}

export function alertRules(
  values: DeployValues,
  metadata: { name: string; namespace: string; labels: Record<string, string> },
): PrometheusRule {
  return new PrometheusRule({
    metadata: { ...metadata, labels: { ...metadata.labels, ...values.monitoring.labels } },
    spec: {
      groups: [
        {
          name: 'ehrflow',
          rules: alertList(values).map((rule) => ({
            alert: rule.alert,
            expr: rule.expr,
            for: rule.for,
            labels: { severity: rule.severity },
            annotations: {
              summary: rule.summary,
              runbook_url: `docs/operations.md#${rule.alert.toLowerCase()}`,
            },
          })),
        },
      ],
    },
  });
}
