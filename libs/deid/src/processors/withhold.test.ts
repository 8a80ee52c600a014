import { describe, expect, it } from 'vitest';
import { testContext, testField, testScope } from './test-scope.ts';
import { withholdMethod } from './withhold.ts';

describe('withhold', () => {
  const field = testField({ name: 'noteText', phiClass: 'free_text' });

  it('withholds every non-blank value of a text field and reports the reason policy', () => {
    const process = withholdMethod.create(testContext({ method: 'withhold' }, field));
    if (process === undefined) throw new Error('no processor');
    const withheld: string[] = [];
    const reasons: string[] = [];
    const scope = testScope({ withheld, reasons });
    expect(process('Stable, no names here.', scope)).toBe('[WITHHELD]');
    expect(process('  ', scope)).toBe('  ');
    expect(withheld).toEqual(['noteText']);
    expect(reasons).toEqual(['policy']);
  });

  it('refuses a field that does not hold strings', () => {
    const numeric = testField({ name: 'valueQuantity', avroType: 'double', phiClass: 'none' });
    expect(withholdMethod.check(testContext({ method: 'withhold' }, numeric))).toEqual([
      'method withhold needs a string or array of strings, field is double',
    ]);
  });
});
