import type { ConsumerStats } from '@ehrflow/kafka';
import { describe, expect, it, vi } from 'vitest';
import { runConsumerStage } from './consumer-stage.ts';
import { createMetrics } from './metrics.ts';

function fakeRunner(stopFails = false) {
  const calls: string[] = [];
  let finish: () => void = () => undefined;
  const runner = {
    run: () =>
      new Promise<void>((resolve) => {
        calls.push('run');
        finish = resolve;
      }),
    ready: () => true,
    started: () => Promise.resolve(),
    stats: () => ({ consumed: 7, committed: 5 }) as unknown as ConsumerStats,
    stop: async () => {
      calls.push('stop');
      finish();
      await Promise.resolve();
      if (stopFails) throw new Error('stop failed');
    },
  };
  return { runner, calls };
}

describe('runConsumerStage', () => {
  it('stops the runner once, then closes, however often stop is called', async () => {
    const { runner, calls } = fakeRunner();
    const stage = runConsumerStage(runner, { close: () => Promise.resolve(void calls.push('close')) });
    expect(stage.ready()).toBe(true);
    await Promise.all([stage.stop(), stage.stop()]);
    await stage.done;
    expect(calls).toEqual(['run', 'stop', 'close']);
  });

  it('closes even when the runner fails to stop, and reports the failure', async () => {
    const { runner, calls } = fakeRunner(true);
    const stage = runConsumerStage(runner, { close: () => Promise.resolve(void calls.push('close')) });
    await expect(stage.stop()).rejects.toThrow('stop failed');
    expect(calls).toEqual(['run', 'stop', 'close']);
  });

  it('copies the runner counters into the stats gauge', async () => {
    vi.useFakeTimers();
    try {
      const metrics = createMetrics('consumer-stage-test');
      const gauge = metrics.gauge('consumer_stage_test_consumer', 'test', ['stat']);
      const { runner } = fakeRunner();
      const stage = runConsumerStage(runner, {
        stats: gauge,
        statsIntervalMs: 100,
        close: () => Promise.resolve(),
      });
      vi.advanceTimersByTime(150);
      const text = await metrics.registry.metrics();
      expect(text).toMatch(/consumer_stage_test_consumer\{[^}]*stat="consumed"[^}]*\} 7/);
      await stage.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});
