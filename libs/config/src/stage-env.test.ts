import { describe, expect, it } from 'vitest';
import { consumerStageEnv, loadConfig, receiverStageEnv, workerEnv, z } from './index.ts';

describe('stage environment fragments', () => {
  it('names every variable with the stage prefix and applies the defaults', () => {
    const schema = z.object({
      ...consumerStageEnv('STAGE', 'ehrflow-stage'),
      ...workerEnv('STAGE'),
      ...receiverStageEnv('STAGE', 60_000),
    });
    expect(Object.keys(schema.shape)).toEqual([
      'STAGE_GROUP_ID',
      'STAGE_TRANSACTIONAL_ID',
      'STAGE_DELIVERY',
      'STAGE_MAX_BATCH',
      'STAGE_MAX_INFLIGHT_BYTES',
      'STAGE_WORKERS',
      'STAGE_WORKER_HEAP_MB',
      'STAGE_DEDUPE_WINDOW_MS',
      'STAGE_RAW_TOPIC',
      'STAGE_QUARANTINE_TOPIC',
    ]);
    expect(loadConfig(schema, { STAGE_MAX_BATCH: '20' })).toEqual({
      STAGE_GROUP_ID: 'ehrflow-stage',
      STAGE_DELIVERY: 'at-least-once',
      STAGE_MAX_BATCH: 20,
      STAGE_MAX_INFLIGHT_BYTES: 4 * 1024 * 1024,
      STAGE_WORKERS: 0,
      STAGE_DEDUPE_WINDOW_MS: 60_000,
      STAGE_RAW_TOPIC: 'ehr.raw',
      STAGE_QUARANTINE_TOPIC: 'ehr.quarantine',
    });
  });

  it('lists a problem under the prefixed name', () => {
    expect(() => loadConfig(z.object(workerEnv('STAGE')), { STAGE_WORKERS: '17' })).toThrow(/STAGE_WORKERS/);
  });
});
