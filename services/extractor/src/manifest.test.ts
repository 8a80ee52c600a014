import { PipelineError } from '@ehrflow/errors';
import { describe, expect, it } from 'vitest';
import { deletedRefs, errorEntrySummary, parseManifest, resourceHead } from './manifest.ts';

const base = 'http://ehr.test/site-a/fhir/_bulk/j1';

describe('parseManifest', () => {
  it('lists output, deleted and error files in a stable order', () => {
    const manifest = parseManifest({
      transactionTime: '2025-01-01T00:00:00Z',
      request: 'http://ehr.test/site-a/fhir/$export',
      requiresAccessToken: true,
      output: [
        { type: 'Patient', url: `${base}/Patient-0.ndjson`, count: 10 },
        { type: 'Observation', url: `${base}/Observation-0.ndjson` },
      ],
      deleted: [{ type: 'Bundle', url: `${base}/deleted-0.ndjson`, count: 2 }],
      error: [{ type: 'OperationOutcome', url: `${base}/error-0.ndjson` }],
    });
    expect(manifest.requiresAccessToken).toBe(true);
    expect(manifest.files.map((f) => [f.role, f.type])).toEqual([
      ['output', 'Patient'],
      ['output', 'Observation'],
      ['deleted', 'Bundle'],
      ['error', 'OperationOutcome'],
    ]);
    expect(manifest.files[0]?.count).toBe(10);
  });

  it('refuses a body that is not a manifest, naming the fields', () => {
    try {
      parseManifest({ transactionTime: 'x', output: [{ type: 'Patient', url: 'not-a-url' }], error: [] });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(PipelineError);
      expect((err as PipelineError).code).toBe('HTTP_PERMANENT');
      expect((err as PipelineError).context.fields).toBe('requiresAccessToken,output.0.url');
    }
  });
});

describe('resourceHead', () => {
  it('finds the patient of a Patient, a subject and a patient reference', () => {
    expect(resourceHead({ resourceType: 'Patient', id: 'pat-1' })).toEqual({
      resourceType: 'Patient',
      id: 'pat-1',
      patientId: 'pat-1',
    });
    expect(
      resourceHead({ resourceType: 'Observation', id: 'obs-1', subject: { reference: 'Patient/pat-2' } })
        ?.patientId,
    ).toBe('pat-2');
    expect(
      resourceHead({
        resourceType: 'AllergyIntolerance',
        id: 'a-1',
        patient: { reference: 'http://x/fhir/Patient/pat-3' },
      })?.patientId,
    ).toBe('pat-3');
    expect(
      resourceHead({ resourceType: 'Observation', id: 'obs-2', subject: { reference: 'Group/g' } })
        ?.patientId,
    ).toBe(undefined);
  });

  it('answers undefined without a type or id', () => {
    expect(resourceHead({ resourceType: 'Observation' })).toBeUndefined();
    expect(resourceHead({ id: 'x' })).toBeUndefined();
  });
});

describe('deletedRefs', () => {
  it('reads DELETE entries and counts malformed ones', () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'DELETE', url: 'Observation/obs-17' } },
        { request: { method: 'PUT', url: 'Observation/obs-18' } },
        { request: { method: 'DELETE', url: 'not a ref' } },
      ],
    };
    expect(deletedRefs(bundle)).toEqual({
      refs: [{ resourceType: 'Observation', id: 'obs-17' }],
      invalid: 2,
    });
    expect(deletedRefs({ resourceType: 'Patient', id: 'p' })).toEqual({ refs: [], invalid: 1 });
  });
});

describe('deletedRefs URL forms', () => {
  it('reads several DELETE entries as Type/id, absolute and _history URLs', () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'DELETE', url: 'Observation/obs-1' } },
        { request: { method: 'DELETE', url: 'https://ehr.example/site-a/fhir/Condition/c-2' } },
        { request: { method: 'DELETE', url: 'Procedure/pr-3/_history/4' } },
        { request: { method: 'DELETE', url: 'https://ehr.example/fhir/Patient/p-4/_history/1' } },
        { request: { method: 'DELETE', url: 'https://ehr.example/fhir/Patient/p-4?x=1' } },
      ],
    };
    expect(deletedRefs(bundle)).toEqual({
      refs: [
        { resourceType: 'Observation', id: 'obs-1' },
        { resourceType: 'Condition', id: 'c-2' },
        { resourceType: 'Procedure', id: 'pr-3' },
        { resourceType: 'Patient', id: 'p-4' },
      ],
      invalid: 1,
    });
  });
});

describe('errorEntrySummary', () => {
  const requested = ['Patient', 'Observation'];

  it('takes the type from expression or location and keeps only IssueType codes', () => {
    const outcome = {
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'error',
          code: 'exception',
          expression: ['Observation.subject'],
          diagnostics: 'Jane Canary-Doe broke it',
        },
        { severity: 'error', code: 'Jane Canary-Doe' },
      ],
    };
    const summary = errorEntrySummary(outcome, requested);
    expect(summary).toEqual({ type: 'Observation', codes: ['exception', 'unknown'] });
    expect(JSON.stringify(summary)).not.toContain('Canary');
  });

  it('finds a requested type named in diagnostics without keeping the text, else unknown', () => {
    const named = {
      resourceType: 'OperationOutcome',
      issue: [{ code: 'processing', diagnostics: 'Some Patient rows failed for MRN 123' }],
    };
    expect(errorEntrySummary(named, requested)).toEqual({ type: 'Patient', codes: ['processing'] });
    const vague = {
      resourceType: 'OperationOutcome',
      issue: [{ code: 'too-costly', diagnostics: 'too big' }],
    };
    expect(errorEntrySummary(vague, requested)).toEqual({ type: 'unknown', codes: ['too-costly'] });
    expect(errorEntrySummary('not json', requested)).toEqual({ type: 'unknown', codes: ['unknown'] });
  });
});
