import { describe, expect, it } from 'vitest';
import type { QuarantineRecord } from '@ehrflow/contracts';
import { recordIdOf } from '@ehrflow/fhir';
import { createKeyring, encryptPayload } from '@ehrflow/phi';
import { quarantineReplayInput } from './replay.ts';

const ring = createKeyring([['k1', Buffer.alloc(32, 1)]]);

function quarantined(overrides: Partial<QuarantineRecord> = {}): QuarantineRecord {
  return {
    recordId: 'a'.repeat(32),
    jobId: 'job-1',
    sourceId: 'site-a',
    resourceType: 'Patient',
    sourceTopic: 'ehr.raw',
    sourcePartition: 2,
    sourceOffset: '41',
    schemaSubject: 'ehr.valid.Patient-value',
    schemaVersion: 1,
    reason: 'missing_required',
    fieldPath: 'Patient.birthDate',
    detail: 'birthDate is required',
    payload: encryptPayload(ring, Buffer.from('{"resourceType":"Patient","id":"p1"}')),
    keyId: 'k1',
    quarantinedAt: 1_700_000_000_000,
    replayCount: 1,
    ...overrides,
  };
}

const options = { rawTopic: 'ehr.raw', reason: undefined, keyring: ring, key: 'pseudo-key' };

describe('quarantineReplayInput', () => {
  it('rebuilds the raw input of a record the validator quarantined from the raw topic', () => {
    const input = quarantineReplayInput(quarantined(), options);
    expect(input).toMatchObject({
      envelope: {
        recordId: 'a'.repeat(32),
        jobId: 'job-1',
        sourceId: 'site-a',
        resourceType: 'Patient',
        kind: 'UPSERT',
        format: 'FHIR_JSON',
        keyId: 'k1',
      },
      position: { topic: 'ehr.raw', partition: 2, offset: '41' },
      key: 'pseudo-key',
      replayCount: 2,
    });
  });

  it('skips records the redactor (or any other stage) quarantined from another topic', () => {
    const fromRedactor = quarantined({
      sourceTopic: 'ehr.valid.Patient',
      reason: 'decrypt_failed',
      payload: encryptPayload(ring, Buffer.from('{"recordId":"x","nameFamily":"enc:v2:AAAA"}')),
    });
    expect(quarantineReplayInput(fromRedactor, options)).toBeUndefined();
    expect(quarantineReplayInput(fromRedactor, { ...options, reason: 'decrypt_failed' })).toBeUndefined();
    // Another deployment's raw topic name is honoured.
    expect(quarantineReplayInput(quarantined(), { ...options, rawTopic: 'it.ehr.raw' })).toBeUndefined();
    expect(
      quarantineReplayInput(quarantined({ sourceTopic: 'it.ehr.raw' }), {
        ...options,
        rawTopic: 'it.ehr.raw',
      }),
    ).toBeDefined();
  });

  it('skips another reason and records that never decoded', () => {
    expect(quarantineReplayInput(quarantined(), { ...options, reason: 'parse_error' })).toBeUndefined();
    expect(quarantineReplayInput(quarantined(), { ...options, reason: 'missing_required' })).toBeDefined();
    expect(
      quarantineReplayInput(quarantined({ recordId: 'undecodable:ehr.raw/0/7' }), options),
    ).toBeUndefined();
  });

  it('replays a quarantined DELETE as a DELETE (its record id is the deletion id of its payload)', () => {
    const deletionId = recordIdOf('site-a', 'Observation', 'obs-4', 'deleted');
    const payload = encryptPayload(ring, Buffer.from('{"resourceType":"Observation","id":"obs-4"}'));
    const deleted = quarantined({
      recordId: deletionId,
      resourceType: 'Observation',
      reason: 'contract_violation',
      payload,
    });
    expect(quarantineReplayInput(deleted, options)?.envelope).toMatchObject({
      kind: 'DELETE',
      format: 'FHIR_JSON',
    });
    // The same payload under another record id is an (incomplete) resource, replayed as an UPSERT.
    expect(quarantineReplayInput(quarantined({ payload }), options)?.envelope).toMatchObject({
      kind: 'UPSERT',
    });
  });
});
