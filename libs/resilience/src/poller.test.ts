import { describe, expect, it } from 'vitest';
import { waitFor } from '@ehrflow/testing';
import { createPoller } from './poller.ts';

describe('createPoller', () => {
  it('runs the task repeatedly, never two runs at once, and stop() waits for the run in progress', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    let release: (() => void) | undefined;
    const poller = createPoller({
      pollMs: 1,
      fallback: 0,
      onError: () => undefined,
      task: async () => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        runs += 1;
        if (runs === 3) await new Promise<void>((resolve) => (release = resolve));
        active -= 1;
        return runs;
      },
    });
    poller.start();
    await waitFor(() => release !== undefined, { what: 'the third run to start', timeoutMs: 5_000 });
    let stoppedAfter = false;
    const stopping = poller.stop().then(() => (stoppedAfter = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(stoppedAfter).toBe(false);
    release?.();
    await stopping;
    expect(poller.stopped).toBe(true);
    expect(maxActive).toBe(1);
    expect(runs).toBe(3);
  });

  it('hands a failed run to onError and keeps polling', async () => {
    const errors: unknown[] = [];
    let runs = 0;
    const poller = createPoller({
      pollMs: 1,
      fallback: -1,
      onError: (err) => errors.push(err),
      task: () => {
        runs += 1;
        return runs === 1 ? Promise.reject(new Error('first run fails')) : Promise.resolve(runs);
      },
    });
    poller.start();
    await waitFor(() => runs >= 3, { what: 'three runs', timeoutMs: 5_000 });
    await poller.stop();
    expect(errors).toHaveLength(1);
  });
});
