import { sumMetric } from '@ehrflow/pipeline-tools';

/** How the rate granted to one source ended: the demo's "granted rate converging" line. */
export interface SourceRate {
  readonly sourceId: string;
  /** The limit the sources file gives (what the EHR publishes). */
  readonly publishedPerMinute: number;
  /** The configured ceiling: published × headroom. */
  readonly ceilingPerMinute: number;
  /** What the shared limiter granted when the run ended. */
  readonly grantedPerMinute: number;
  readonly requests: number;
  readonly throttled: number;
}

/**
 * Reads the extractor's rate gauges and request counters of each source from its /metrics text.
 * Labels are configured source ids only.
 */
export function sourceRates(
  extractorMetrics: string,
  sourceIds: readonly string[],
  publishedPerMinute: number,
): SourceRate[] {
  return sourceIds.map((sourceId) => {
    const bySource = (labels: string): boolean => labels.includes(`source="${sourceId}"`);
    const read = (name: string): number => sumMetric(extractorMetrics, `ehrflow_${name}`, bySource);
    return {
      sourceId,
      publishedPerMinute,
      ceilingPerMinute: read('extractor_rate_ceiling_per_minute'),
      grantedPerMinute: read('extractor_rate_granted_per_minute'),
      requests: read('extractor_http_requests_total'),
      throttled: read('extractor_http_throttled_total'),
    };
  });
}
