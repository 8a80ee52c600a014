import type { SafeCounter, SafeGauge, SafeHistogram, ServiceMetrics } from './metrics.ts';

/**
 * One metric of a stage's table: its kind, full name, help text, label names and (histograms)
 * buckets. A table declares each metric once; its object type follows from the table.
 */
export interface MetricSpec<K extends MetricKind = MetricKind, L extends string = string> {
  readonly kind: K;
  readonly name: string;
  readonly help: string;
  readonly labels: readonly L[];
  readonly buckets?: readonly number[];
}

export type MetricKind = 'counter' | 'gauge' | 'histogram';

/** The row builder of a kind without buckets: name, help text, then the label names. */
const labelled =
  <K extends 'counter' | 'gauge'>(kind: K) =>
  <const L extends string = never>(name: string, help: string, ...labels: L[]): MetricSpec<K, L> => ({
    kind,
    name,
    help,
    labels,
  });

/** The rows of a metric table: `metric.counter(name, help, ...labels)` and the like. */
export const metric = {
  counter: labelled('counter'),
  gauge: labelled('gauge'),
  /** A histogram: its bucket bounds (seconds, bytes, …), then the label names. */
  histogram: <const L extends string = never>(
    name: string,
    help: string,
    buckets: readonly number[],
    ...labels: L[]
  ): MetricSpec<'histogram', L> => ({ kind: 'histogram', name, help, labels, buckets }),
} as const;

/** The metrics a table declares, each under its key, typed by its kind and label names. */
export type DeclaredMetrics<T extends Readonly<Record<string, MetricSpec>>> = {
  readonly [K in keyof T]: T[K] extends MetricSpec<'counter', infer L>
    ? SafeCounter<L>
    : T[K] extends MetricSpec<'gauge', infer L>
      ? SafeGauge<L>
      : T[K] extends MetricSpec<'histogram', infer L>
        ? SafeHistogram<L>
        : never;
};

/** Registers every metric of `table` in `metrics` (label names checked as `createMetrics` does). */
export function declareMetrics<const T extends Readonly<Record<string, MetricSpec>>>(
  metrics: ServiceMetrics,
  table: T,
): DeclaredMetrics<T> {
  const made = Object.entries(table).map(([key, spec]) => [key, register(metrics, spec)] as const);
  return Object.fromEntries(made) as DeclaredMetrics<T>;
}

function register(metrics: ServiceMetrics, spec: MetricSpec): unknown {
  switch (spec.kind) {
    case 'counter':
      return metrics.counter(spec.name, spec.help, spec.labels);
    case 'gauge':
      return metrics.gauge(spec.name, spec.help, spec.labels);
    case 'histogram':
      return metrics.histogram(spec.name, spec.help, spec.labels, spec.buckets);
  }
}
