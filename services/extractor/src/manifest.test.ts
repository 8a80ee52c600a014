import { PipelineError } from '@ehrflow/errors';
import { describe, expect, it } from 'vitest';
import { deletedRefs, parseManifest, resourceHead } from './manifest.ts';

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
    expect(resourceHead({ resourceType: 'Observation', id: 'obs-1', subject: { reference: 'Patient/pat-2' } })?.patientId).toBe(
      'pat-2',
    );
    expect(
      resourceHead({ resourceType: 'AllergyIntolerance', id: 'a-1', patient: { reference: 'http://x/fhir/Patient/pat-3' } })
        ?.patientId,
    ).toBe('pat-3');
    expect(resourceHead({ resourceType: 'Observation', id: 'obs-2', subject: { reference: 'Group/g' } })?.patientId).toBe(
      undefined,
    );
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
    expect(deletedRefs(bundle)).toEqual({ refs: [{ resourceType: 'Observation', id: 'obs-17' }], invalid: 2 });
    expect(deletedRefs({ resourceType: 'Patient', id: 'p' })).toEqual({ refs: [], invalid: 1 });
  });
});
