import { describe, expect, it } from 'vitest';
import { PipelineError } from '@ehrflow/errors';
import type { DecodedRecord } from '@ehrflow/kafka';
import { createMetrics } from '@ehrflow/service';
import { createContractCache } from './contract-cache.ts';
import { createValidatorHandler } from './handler.ts';
import { createValidatorMetrics } from './metrics.ts';
import type { Monitor } from './monitor.ts';
import {
  contractJson,
  deleteEnvelope,
  deletionContract,
  memorySchemaSource,
  testKeyring,
} from './testing/fixtures.ts';
import { createRecordValidator } from './validate-record.ts';

const ring = testKeyring();

function setup() {
  const contracts = createContractCache({
    source: memorySchemaSource({ 'ehr.valid.Observation-value': contractJson('Observation') }),
    validTopicPrefix: 'ehr.valid.',
    resourceTypes: ['Observation'],
    fillRateWindow: 500,
  });
  const validator = createRecordValidator({
    keyring: ring,
    contracts,
    deletions: deletionContract(),
    maxPayloadBytes: 64 * 1024,
  });
  const quarantined: string[] = [];
  const monitor: Monitor = {
    observeDrift: () => undefined,
    observeQuarantine: (q) => void quarantined.push(q.recordId),
    tick: () => Promise.resolve(),
    start: () => undefined,
    stop: () => Promise.resolve(),
  };
  const serviceMetrics = createMetrics('validator-handler-test');
  const handler = createValidatorHandler({
    validator,
    monitor,
    quarantineTopic: 'ehr.quarantine',
    metrics: createValidatorMetrics(serviceMetrics),
    now: () => 1_700_000_000_000,
  });
  const records = async (): Promise<string> => {
    const metric = await serviceMetrics.registry.getSingleMetric('ehrflow_validator_records_total')?.get();
    return JSON.stringify(metric?.values ?? []);
  };
  return { handler, quarantined, records };
}

function input(value: object, offset: number): DecodedRecord {
  return {
    topic: 'ehr.raw',
    partition: 0,
    offset: String(offset),
    key: 'pseudo-key',
    headers: {},
    timestamp: 0,
    value,
    schemaId: 1,
  };
}

describe('validator handler', () => {
  it('produces a DELETE as a Deletion with the DELETE header and the raw key, and counts it without PHI', async () => {
    const { handler, records } = setup();
    const [out] = await handler.handle([input(deleteEnvelope(ring, 'Observation', 'obs-secret-17'), 0)]);
    expect(out).toMatchObject({
      topic: 'ehr.valid.deletions',
      key: 'pseudo-key',
      headers: { 'ehrflow-kind': 'DELETE' },
    });
    const counted = await records();
    expect(counted).toContain('"outcome":"deletion"');
    expect(counted).toContain('"resource_type":"Observation"');
    expect(counted).not.toContain('obs-secret-17');
  });

  it('quarantines a Deletion the registered schema refuses at produce time, naming the deletions subject', async () => {
    const { handler, quarantined } = setup();
    const envelope = deleteEnvelope(ring, 'Observation', 'obs-1');
    const [out] = await handler.handle([input(envelope, 3)]);
    if (out === undefined) throw new Error('no output');
    const refused = handler.onQuarantine(
      out,
      new PipelineError('SCHEMA_MISMATCH', 'value does not match', { context: { fieldPath: 'logicalId' } }),
    );
    expect(refused.topic).toBe('ehr.quarantine');
    expect(refused.value).toMatchObject({
      recordId: envelope.recordId,
      reason: 'schema_mismatch',
      fieldPath: 'logicalId',
      schemaSubject: 'ehr.valid.deletions-value',
      schemaVersion: 1,
      resourceType: 'Observation',
      sourceOffset: '3',
    });
    expect(quarantined).toEqual([envelope.recordId]);
  });

  it('quarantines an output above the output size limit as too_large and counts it so', async () => {
    const { handler, records } = setup();
    const envelope = deleteEnvelope(ring, 'Observation', 'obs-2');
    const [out] = await handler.handle([input(envelope, 4)]);
    if (out === undefined) throw new Error('no output');
    const refused = handler.onQuarantine(
      out,
      new PipelineError('TOO_LARGE', 'output 0 is too large', { context: { sizeBytes: 2_000_000 } }),
    );
    expect(refused.value).toMatchObject({
      recordId: envelope.recordId,
      reason: 'too_large',
      fieldPath: null,
    });
    expect(await records()).toContain('"outcome":"too_large"');
  });
});
