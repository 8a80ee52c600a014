import type { EachBatchPayload } from 'kafkajs';
import { sleep } from '@ehrflow/resilience';
import { isRebalanceError } from './kafka-errors.ts';

/**
 * Heartbeats while a long chunk runs, so the group does not evict a member whose handler is
 * slow. kafkajs throttles `heartbeat()` to its interval, so calling it often is cheap. A rebalance
 * seen meanwhile is remembered: `check()` throws it, so the chunk is given up before it commits
 * (another member may own the partition by now).
 */
export function startHeartbeat(payload: Pick<EachBatchPayload, 'heartbeat'>, intervalMs: number) {
  let rebalance: Error | undefined;
  const timer = setInterval(() => {
    payload.heartbeat().catch((err: unknown) => {
      if (err instanceof Error && isRebalanceError(err)) rebalance = err;
    });
  }, intervalMs);
  return {
    check: (): void => {
      if (rebalance !== undefined) throw rebalance;
    },
    stop: (): void => clearInterval(timer),
  };
}

/**
 * Waits `ms` in heartbeat-sized steps, heartbeating between them. Returns early when `signal`
 * aborts; a rebalance reported by a heartbeat is thrown.
 */
export async function waitWithHeartbeat(
  payload: Pick<EachBatchPayload, 'heartbeat'>,
  ms: number,
  intervalMs: number,
  signal: AbortSignal,
): Promise<void> {
  const until = Date.now() + ms;
  while (!signal.aborted && Date.now() < until) {
    try {
      await sleep(Math.min(intervalMs, until - Date.now()), signal);
    } catch (err) {
      // The shared sleep rejects with the abort reason; here an abort only ends the wait early.
      if (signal.aborted) return;
      throw err;
    }
    await payload.heartbeat();
  }
}
