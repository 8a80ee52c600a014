import { randomBytes } from 'node:crypto';
import type { RawEnvelope } from '@ehrflow/contracts';
import { recordIdOf } from '@ehrflow/fhir';
import { createKeyring, decryptPayload, partitionKey } from '@ehrflow/phi';
import { describe, expect, it } from 'vitest';
import { addExportLine, Batch } from './batch.ts';
import { DELETED_VERSION, deleteMessage, upsertMessage } from './envelope.ts';
import { resourceHead } from './manifest.ts';

const keyring = createKeyring([['k1', randomBytes(32)]]);
const pseudonymKey = randomBytes(32);
const ctx = { sourceId: 'site-a', jobId: 'job-1', keyring, pseudonymKey, now: () => 1_700_000_000_000 };
const CANARY = 'Zyxwvut Canary';

const observation = {
  resourceType: 'Observation',
  id: 'obs-7',
  meta: { versionId: '3', lastUpdated: '2024-02-03T04:05:06Z' },
  subject: { reference: 'Patient/pat-2' },
  note: [{ text: `patient ${CANARY}` }],
};

describe('upsertMessage', () => {
  it('builds a deterministic, encrypted envelope keyed by the patient pseudonym', () => {
    const line = JSON.stringify(observation);
    const head = resourceHead(observation);
    if (head === undefined) throw new Error('no head');
    const m = upsertMessage(ctx, head, observation, line, 'file 1 line 4');
    const v = m.value as RawEnvelope;
    expect(v.recordId).toBe(recordIdOf('site-a', 'Observation', 'obs-7', '3'));
    expect(upsertMessage(ctx, head, observation, line, 'file 1 line 4').value).toMatchObject({
      recordId: v.recordId,
    });
    expect(m.key).toBe(partitionKey(pseudonymKey, 'site-a', 'pat-2'));
    expect(v).toMatchObject({
      jobId: 'job-1',
      sourceId: 'site-a',
      resourceType: 'Observation',
      kind: 'UPSERT',
      format: 'FHIR_JSON',
      keyId: 'k1',
      sourceLocator: 'file 1 line 4',
      extractedAt: 1_700_000_000_000,
      sizeBytes: Buffer.byteLength(line),
    });
    expect(v.payload.toString('latin1')).not.toContain(CANARY);
    expect(decryptPayload(keyring, v.payload).toString('utf8')).toBe(line);
    expect(JSON.stringify({ ...v, payload: undefined })).not.toContain(CANARY);
  });
});

describe('deleteMessage', () => {
  it('builds a DELETE envelope with a stable record id', () => {
    const m = deleteMessage(ctx, { resourceType: 'Observation', id: 'obs-9' }, 'file 3 line 1 entry 1');
    const v = m.value as RawEnvelope;
    expect(v.kind).toBe('DELETE');
    expect(v.recordId).toBe(recordIdOf('site-a', 'Observation', 'obs-9', DELETED_VERSION));
    expect(JSON.parse(decryptPayload(keyring, v.payload).toString('utf8'))).toEqual({
      resourceType: 'Observation',
      id: 'obs-9',
    });
  });
});

describe('addExportLine', () => {
  it('counts a resource above maxResourceBytes as TOO_LARGE and produces the ones at the limit', () => {
    const batch = new Batch();
    const line = (n: number): string =>
      JSON.stringify({ ...observation, id: `obs-${n}`, text: { div: 'x'.repeat(n) } });
    const limit = Buffer.byteLength(line(2_000));
    const limited = { ...ctx, maxResourceBytes: limit };
    addExportLine(limited, batch, 'output', line(2_000), 'file 1 line 1');
    addExportLine(limited, batch, 'output', line(2_001), 'file 1 line 2');
    expect(batch.counts).toEqual({ read: 2, produced: 1, deleted: 0, errors: 1, duplicates: 0 });
    expect(batch.errorCodes).toEqual({ TOO_LARGE: 1 });
    expect(batch.size).toBe(1);
    expect(batch.bytes).toBe(limit);
  });

  it('counts every line: produced, deleted, errors for bad JSON, missing ids and error entries', () => {
    const batch = new Batch();
    addExportLine(ctx, batch, 'output', JSON.stringify(observation), 'file 1 line 1');
    addExportLine(ctx, batch, 'output', '{"resourceType":"Observation"', 'file 1 line 2');
    addExportLine(ctx, batch, 'output', '{"resourceType":"Observation"}', 'file 1 line 3');
    const bundle = {
      resourceType: 'Bundle',
      entry: [
        { request: { method: 'DELETE', url: 'Observation/obs-1' } },
        { request: { method: 'DELETE', url: 'Condition/cond-2' } },
      ],
    };
    addExportLine(ctx, batch, 'deleted', JSON.stringify(bundle), 'file 2 line 1');
    addExportLine(ctx, batch, 'error', '{"resourceType":"OperationOutcome"}', 'file 3 line 1');
    expect(batch.counts).toEqual({ read: 6, produced: 1, deleted: 2, errors: 3, duplicates: 0 });
    expect(batch.errorCodes).toEqual({ PARSE_ERROR: 1, MISSING_REQUIRED: 1, EXPORT_ERROR_ENTRY: 1 });
    expect(batch.size).toBe(3);
    expect(batch.keys.map((k) => k.kind)).toEqual(['UPSERT', 'DELETE', 'DELETE']);
    expect(batch.errorEntries).toEqual({ byType: { unknown: 1 }, issueCodes: { unknown: 1 } });
    expect(batch.lines).toBe(5);
    const taken = batch.take();
    expect(taken.size).toBe(3);
    expect(batch.isEmpty()).toBe(true);
    expect(batch.counts.read).toBe(0);
  });
});
