import { NOTE_PEOPLE_CANARIES } from '@ehrflow/ehr-sim';
import { describe, expect, it } from 'vitest';
import { canaryLabels, canaryValues, demoCanaries } from './canaries.ts';

describe('pipeline canaries', () => {
  const canaries = demoCanaries(['site-a', 'site-b'], 10);

  it('search the names of people other than the patient that canary notes quote', () => {
    const values = canaryValues(canaries);
    for (const name of Object.values(NOTE_PEOPLE_CANARIES)) expect(values).toContain(name);
  });

  it('label every searched value without its value', () => {
    const labels = canaryLabels(canaries);
    expect(labels).toHaveLength(canaryValues(canaries).length);
    expect(labels).toContain('note clinician name');
    for (const value of canaryValues(canaries)) expect(labels.join(' ')).not.toContain(value);
  });
});
