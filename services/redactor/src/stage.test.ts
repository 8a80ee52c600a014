import type { StageContext } from '@ehrflow/service';
import { describe, expect, it, vi } from 'vitest';
import type { RedactorConfig } from './config.ts';
import type { RunningRedactor } from './service.ts';
import { startRedactorStage } from './stage.ts';

const state = { consuming: true, redis: true };

vi.mock('./service.ts', () => ({
  startRedactor: () =>
    Promise.resolve({
      plan: { policy: { name: 'test-policy' } },
      ready: () => state.consuming,
      directoryReachable: () => Promise.resolve(state.redis),
      stop: () => Promise.resolve(),
    } as unknown as RunningRedactor),
}));

const context = {
  config: { REDACTOR_DELIVERY: 'at-least-once' },
  kafka: () => ({}),
} as unknown as StageContext<RedactorConfig>;

describe('the redactor stage readiness', () => {
  it('is not ready while the shared directory Redis does not answer (chunks wait on it)', async () => {
    const stage = await startRedactorStage(context);
    state.consuming = true;
    state.redis = true;
    expect(await stage.ready()).toBe(true);
    state.redis = false;
    expect(await stage.ready()).toBe(false);
    state.redis = true;
    state.consuming = false;
    expect(await stage.ready()).toBe(false);
  });
});
