import { describe, expect, it } from 'vitest';
import { createSemaphore } from './concurrency.ts';

/** A promise the test resolves by hand. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

describe('createSemaphore', () => {
  it('never runs more than max at once and serves waiters in FIFO order', async () => {
    const semaphore = createSemaphore(2);
    const gates = Array.from({ length: 5 }, () => gate());
    const started: number[] = [];
    let running = 0;
    let peak = 0;
    const runs = gates.map((g, i) =>
      semaphore.run(async () => {
        started.push(i);
        running++;
        peak = Math.max(peak, running);
        await g.promise;
        running--;
        return i;
      }),
    );
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    expect(semaphore.waiting()).toBe(3);
    // Finish out of order: the freed permit still goes to the longest waiter.
    gates[1]!.open();
    await runs[1];
    gates[0]!.open();
    await runs[0];
    for (const g of gates) g.open();
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3, 4]);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(peak).toBe(2);
    expect(semaphore.active()).toBe(0);
  });

  it('returns the permit when fn throws', async () => {
    const semaphore = createSemaphore(1);
    await expect(semaphore.run(() => Promise.reject(new Error('fail')))).rejects.toThrow('fail');
    expect(semaphore.active()).toBe(0);
    await expect(semaphore.run(() => Promise.resolve('next'))).resolves.toBe('next');
  });

  it('lets a waiter give up through its signal without losing a permit', async () => {
    const semaphore = createSemaphore(1);
    const release = await semaphore.acquire();
    const controller = new AbortController();
    const waiting = semaphore.acquire(controller.signal);
    expect(semaphore.waiting()).toBe(1);
    controller.abort(new Error('give up'));
    await expect(waiting).rejects.toThrow('give up');
    expect(semaphore.waiting()).toBe(0);
    release();
    release(); // a second call is harmless
    expect(semaphore.active()).toBe(0);
  });

  it('bounds the queue of waiters', async () => {
    const semaphore = createSemaphore(1, { maxWaiting: 1 });
    const release = await semaphore.acquire();
    const queued = semaphore.acquire();
    await expect(semaphore.acquire()).rejects.toMatchObject({ code: 'HTTP_TRANSIENT' });
    release();
    (await queued)();
    expect(semaphore.active()).toBe(0);
  });

  it('refuses a size below one', () => {
    expect(() => createSemaphore(0)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});
