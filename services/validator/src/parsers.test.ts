import { isPipelineError, type PipelineError } from '@ehrflow/errors';
import { describe, expect, it } from 'vitest';
import { parserFor } from './parsers.ts';

const CANARY = 'Canaryroe-Parser-9c1';
const ctx = { recordId: 'rec-0001' };

function caught(fn: () => unknown): PipelineError {
  try {
    fn();
  } catch (err) {
    if (isPipelineError(err)) return err;
    throw err;
  }
  throw new Error('expected a PipelineError');
}

describe('parserFor', () => {
  it('serves FHIR JSON and answers FORMAT_UNSUPPORTED for HL7 v2 and X12, never echoing the payload', () => {
    const fhir = parserFor('FHIR_JSON');
    expect(fhir.format).toBe('FHIR_JSON');
    expect(fhir.parse(Buffer.from('{"resourceType":"Patient","id":"p1"}'), ctx).resourceType).toBe('Patient');
    for (const format of ['HL7V2', 'X12'] as const) {
      const parser = parserFor(format);
      expect(parser.format).toBe(format);
      const err = caught(() => parser.parse(Buffer.from(`MSH|^~\\&|${CANARY}`), ctx));
      expect(err.code).toBe('FORMAT_UNSUPPORTED');
      expect(err.errorClass).toBe('contract');
      expect(err.context).toEqual({ recordId: 'rec-0001', format });
      expect(`${err.message} ${JSON.stringify(err.context)}`).not.toContain(CANARY);
    }
  });
});
