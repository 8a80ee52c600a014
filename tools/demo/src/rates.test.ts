import { describe, expect, it } from 'vitest';
import { sourceRates } from './rates.ts';

const METRICS = `# HELP ehrflow_extractor_rate_granted_per_minute x
# TYPE ehrflow_extractor_rate_granted_per_minute gauge
ehrflow_extractor_rate_granted_per_minute{source="demo-a",service="extractor"} 6.5
ehrflow_extractor_rate_granted_per_minute{source="demo-b",service="extractor"} 36
ehrflow_extractor_rate_ceiling_per_minute{source="demo-a",service="extractor"} 36
ehrflow_extractor_rate_ceiling_per_minute{source="demo-b",service="extractor"} 36
ehrflow_extractor_http_requests_total{source="demo-a",service="extractor"} 40
ehrflow_extractor_http_requests_total{source="demo-b",service="extractor"} 12
ehrflow_extractor_http_throttled_total{source="demo-a",service="extractor"} 3
`;

describe('sourceRates', () => {
  it('reads the granted rate, the ceiling and the 429 counts of each source', () => {
    expect(sourceRates(METRICS, ['demo-a', 'demo-b'], 60)).toEqual([
      {
        sourceId: 'demo-a',
        publishedPerMinute: 60,
        ceilingPerMinute: 36,
        grantedPerMinute: 6.5,
        requests: 40,
        throttled: 3,
      },
      {
        sourceId: 'demo-b',
        publishedPerMinute: 60,
        ceilingPerMinute: 36,
        grantedPerMinute: 36,
        requests: 12,
        throttled: 0,
      },
    ]);
  });
});
