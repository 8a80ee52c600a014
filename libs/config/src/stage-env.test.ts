import { describe, expect, it } from 'vitest';
import { consumerStageEnv, consumerStageTopics, loadConfig, receiverStageEnv, z } from './index.ts';

/** The pipeline variables every stage requires (synthetic values). */
const PIPELINE = {
  KAFKA_BROKERS: 'k:9092',
  SCHEMA_REGISTRY_URL: 'http://registry:8081',
  PHI_KEYRING: 'k1:a2V5',
  PSEUDONYM_KEY: 'cHNldWRvbnlt',
};

/** The variables of `config` under the stage's prefix. */
const staged = (config: object) =>
  Object.fromEntries(Object.entries(config).filter(([key]) => key.startsWith('STAGE_')));

describe('stage environment fragments', () => {
  it('names every variable with the stage prefix and applies the defaults', () => {
    const schema = z.object({
      ...consumerStageEnv('STAGE', { groupId: 'ehrflow-stage', resourceTypes: ['Patient', 'Encounter'] }),
      ...receiverStageEnv('STAGE', 60_000),
    });
    expect(Object.keys(schema.shape)).toEqual(expect.arrayContaining(['KAFKA_BROKERS', 'PHI_KEYRING']));
    expect(Object.keys(schema.shape).filter((key) => key.startsWith('STAGE_'))).toEqual([
      'STAGE_GROUP_ID',
      'STAGE_TRANSACTIONAL_ID',
      'STAGE_DELIVERY',
      'STAGE_MAX_BATCH',
      'STAGE_MAX_INFLIGHT_BYTES',
      'STAGE_MAX_OUTPUT_BYTES',
      'STAGE_WORKERS',
      'STAGE_WORKER_HEAP_MB',
      'STAGE_RESOURCE_TYPES',
      'STAGE_VALID_TOPIC_PREFIX',
      'STAGE_QUARANTINE_TOPIC',
      'STAGE_DEDUPE_WINDOW_MS',
      'STAGE_RAW_TOPIC',
    ]);
    expect(staged(loadConfig(schema, { ...PIPELINE, STAGE_MAX_BATCH: '20' }))).toEqual({
      STAGE_GROUP_ID: 'ehrflow-stage',
      STAGE_DELIVERY: 'at-least-once',
      STAGE_MAX_BATCH: 20,
      STAGE_MAX_INFLIGHT_BYTES: 4 * 1024 * 1024,
      STAGE_WORKERS: 0,
      STAGE_RESOURCE_TYPES: ['Patient', 'Encounter'],
      STAGE_VALID_TOPIC_PREFIX: 'ehr.valid.',
      STAGE_DEDUPE_WINDOW_MS: 60_000,
      STAGE_RAW_TOPIC: 'ehr.raw',
      STAGE_QUARANTINE_TOPIC: 'ehr.quarantine',
    });
  });

  it('lists a problem under the prefixed name', () => {
    const schema = z.object(consumerStageEnv('STAGE', { groupId: 'g', resourceTypes: ['Patient'] }));
    expect(() => loadConfig(schema, { ...PIPELINE, STAGE_WORKERS: '17' })).toThrow(/STAGE_WORKERS/);
    expect(() => loadConfig(schema, { ...PIPELINE, STAGE_RESOURCE_TYPES: 'Patient,not a type' })).toThrow(
      /STAGE_RESOURCE_TYPES/,
    );
  });

  it('reads the shared topics of a consumer stage under its prefix', () => {
    const schema = z.object(consumerStageEnv('STAGE', { groupId: 'g', resourceTypes: ['Patient'] }));
    const config = loadConfig(schema, { ...PIPELINE, STAGE_QUARANTINE_TOPIC: 'it.quarantine' });
    expect(consumerStageTopics('STAGE', config)).toEqual({
      validPrefix: 'ehr.valid.',
      quarantine: 'it.quarantine',
    });
  });
});
