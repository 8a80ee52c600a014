import { describe, expect, it } from 'vitest';
import { driftLines } from './topic-events.ts';

describe('driftLines', () => {
  it('lists each renamed or missing field, and folds fill-rate drops into one line per source', () => {
    const fills = Array.from({ length: 8 }, (_, i) => ({
      sourceId: 'site-a',
      field: `Observation.f${i}`,
      kind: 'fill_rate_drop',
      count: 500,
    }));
    const lines = driftLines([
      { sourceId: 'site-a', field: 'Patient.birthDate', kind: 'missing_field', count: 90 },
      ...fills,
      { sourceId: 'site-b', field: 'Condition.onsetDateTime', kind: 'fill_rate_drop', count: 500 },
    ]);
    expect(lines).toEqual([
      'site-a Patient.birthDate missing_field x90',
      'site-a fill_rate_drop on 8 field(s) filled less often than expected: Observation.f0, Observation.f1, Observation.f2, Observation.f3, Observation.f4, Observation.f5, …',
      'site-b fill_rate_drop on 1 field(s) filled less often than expected: Condition.onsetDateTime',
    ]);
  });
});
