import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { PipelineError } from '@ehrflow/errors';

/** Every metric the product exposes starts with this, so dashboards can select ours alone. */
export const METRIC_PREFIX = 'ehrflow_';

/** The default label the registry adds to every series; reserved, so a metric cannot redefine it. */
export const SERVICE_LABEL = 'service';

/**
 * Label names refused outright because their values would be a person's data. Matched against
 * each `_`-separated part of a label name, so `patient_id` and `given_name` are refused too.
 * Deliberately small: the value check below is the second line of defence.
 */
const PHI_LABEL_PARTS: ReadonlySet<string> = new Set([
  'patient',
  'mrn',
  'ssn',
  'dob',
  'birth',
  'birthdate',
  'given',
  'family',
  'surname',
  'address',
  'street',
  'zip',
  'postal',
  'phone',
  'telecom',
  'email',
  'member',
  'subscriber',
  'insured',
  'identifier',
  'payload',
  'body',
  'message',
  'text',
  'note',
  'value',
]);

/** Whole label names refused, too generic to refuse as a part (`topic_name` is fine, `name` is not). */
const PHI_LABEL_NAMES: ReadonlySet<string> = new Set(['name', 'fullname', 'user', 'username']);

const LABEL_NAME_PATTERN = /^[a-z_][a-z0-9_]{0,63}$/;

/**
 * Label values must look like an identifier of *where* (topic, resource type, error code, status),
 * never free text. Conservative: it cannot tell an MRN from a partition number, but it stops names
 * with spaces, messages, JSON and anything long.
 */
export const LABEL_VALUE_PATTERN = /^[A-Za-z0-9_.:/-]{0,64}$/;

/** Label values for a metric whose label names are `L`. */
export type LabelValues<L extends string> = Partial<Record<L, string | number>>;

/** A counter whose label values are checked on every call. */
export interface SafeCounter<L extends string> {
  inc(labels?: LabelValues<L>, value?: number): void;
}

/** A gauge whose label values are checked on every call. */
export interface SafeGauge<L extends string> {
  set(labels: LabelValues<L>, value: number): void;
  inc(labels?: LabelValues<L>, value?: number): void;
  dec(labels?: LabelValues<L>, value?: number): void;
}

/** A histogram whose label values are checked on every call. */
export interface SafeHistogram<L extends string> {
  observe(labels: LabelValues<L>, value: number): void;
  /** Starts a timer; the returned function observes the elapsed seconds and returns them. */
  startTimer(labels?: LabelValues<L>): (endLabels?: LabelValues<L>) => number;
}

/** A service's metrics: one registry and PHI-guarded metric factories that register into it. */
export interface ServiceMetrics {
  readonly registry: Registry;
  counter<const L extends string = never>(
    name: string,
    help: string,
    labelNames?: readonly L[],
  ): SafeCounter<L>;
  gauge<const L extends string = never>(name: string, help: string, labelNames?: readonly L[]): SafeGauge<L>;
  histogram<const L extends string = never>(
    name: string,
    help: string,
    labelNames?: readonly L[],
    buckets?: readonly number[],
  ): SafeHistogram<L>;
}

/**
 * Creates a registry with the default Node process metrics (prefixed `ehrflow_`) and a `service`
 * label on every series. Metric names get the `ehrflow_` prefix when they do not have it yet.
 *
 * Metric labels are one of the channels PHI leaks through (a label value ends up in Prometheus,
 * in dashboards and in alerts), so label names on a deny list are refused when the metric is
 * created and label values are checked against {@link LABEL_VALUE_PATTERN} on every update.
 * Both refusals throw `PipelineError('METRIC_LABEL_REFUSED')` naming the metric and the label,
 * never the value.
 * @see https://prometheus.io/docs/concepts/data_model/
 */
export function createMetrics(serviceName: string): ServiceMetrics {
  checkLabelValue('(registry)', SERVICE_LABEL, serviceName);
  const registry = new Registry();
  registry.setDefaultLabels({ [SERVICE_LABEL]: serviceName });
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });

  /** Name, help, checked label names and the registry: what every metric is declared with. */
  const declared = <L extends string>(name: string, help: string, labelNames: readonly L[]) => {
    const fullName = prefixed(name);
    return {
      fullName,
      options: {
        name: fullName,
        help,
        labelNames: checkLabelNames(fullName, labelNames),
        registers: [registry],
      },
    };
  };

  return {
    registry,
    counter(name, help, labelNames = []) {
      const { fullName, options } = declared(name, help, labelNames);
      const metric = new Counter(options);
      return {
        inc: (labels = {}, value = 1) => metric.inc(checkLabels(fullName, labels), value),
      };
    },
    gauge(name, help, labelNames = []) {
      const { fullName, options } = declared(name, help, labelNames);
      const metric = new Gauge(options);
      return {
        set: (labels, value) => metric.set(checkLabels(fullName, labels), value),
        inc: (labels = {}, value = 1) => metric.inc(checkLabels(fullName, labels), value),
        dec: (labels = {}, value = 1) => metric.dec(checkLabels(fullName, labels), value),
      };
    },
    histogram(name, help, labelNames = [], buckets) {
      const { fullName, options } = declared(name, help, labelNames);
      const metric = new Histogram({
        ...options,
        ...(buckets === undefined ? {} : { buckets: [...buckets] }),
      });
      return {
        observe: (labels, value) => metric.observe(checkLabels(fullName, labels), value),
        startTimer: (labels = {}) => {
          const end = metric.startTimer(checkLabels(fullName, labels));
          return (endLabels = {}) => end(checkLabels(fullName, endLabels));
        },
      };
    },
  };
}

function prefixed(name: string): string {
  return name.startsWith(METRIC_PREFIX) ? name : METRIC_PREFIX + name;
}

/** Refuses label names that are malformed, reserved, or on the PHI deny list. */
export function checkLabelNames<L extends string>(metricName: string, labelNames: readonly L[]): L[] {
  for (const label of labelNames) {
    let why: string | undefined;
    if (!LABEL_NAME_PATTERN.test(label)) why = 'must be lower_snake_case, at most 64 characters';
    else if (label === SERVICE_LABEL) why = 'is reserved (added to every series by the registry)';
    else if (PHI_LABEL_NAMES.has(label) || label.split('_').some((part) => PHI_LABEL_PARTS.has(part)))
      why = 'is on the PHI deny list';
    if (why !== undefined) {
      throw new PipelineError('METRIC_LABEL_REFUSED', `metric ${metricName}: label name ${why}`, {
        // A refused name is not a value, but keep it out of the context only if malformed garbage.
        context: { metric: metricName, label: LABEL_NAME_PATTERN.test(label) ? label : '(malformed)' },
      });
    }
  }
  return [...labelNames];
}

/** Checks every label value of one update and returns the labels unchanged. */
function checkLabels<L extends string>(
  metricName: string,
  labels: LabelValues<L>,
): Partial<Record<L, string | number>> {
  for (const [label, value] of Object.entries(labels)) checkLabelValue(metricName, label, value);
  return labels;
}

function checkLabelValue(metricName: string, label: string, value: unknown): void {
  const ok =
    (typeof value === 'number' && Number.isFinite(value)) ||
    (typeof value === 'string' && LABEL_VALUE_PATTERN.test(value));
  if (!ok) {
    throw new PipelineError(
      'METRIC_LABEL_REFUSED',
      `metric ${metricName}: value of label ${label} fails the safe label pattern`,
      {
        context: { metric: metricName, label },
      },
    );
  }
}
