import { createRequire } from 'node:module';

/**
 * Works around kafkajs 2.2.4 issue #1751 ("TimeoutNegativeWarning emitted when running on Node
 * 24"), still open upstream (fix proposed in PR #1755, not released).
 *
 * Where: `RequestQueue.scheduleCheckPendingRequests()` (src/network/requestQueue/index.js)
 * computes `throttledUntil - Date.now()`. When the queue is not throttled, `throttledUntil` is -1,
 * so with no pending request it calls `setTimeout(fn, -1 - Date.now())`. Node 24 warns about the
 * negative delay and clamps it to 1 ms — and because the callback re-schedules itself, every idle
 * broker connection then spins a 1 ms timer for its whole life (measured: ~850 wake-ups per second
 * per connection on an idle producer).
 *
 * The patch is narrow: it wraps that one method and skips scheduling only when nothing is pending.
 * That timer exists to drain the pending queue; an empty queue has nothing to drain, and `push()`
 * schedules a check itself whenever it enqueues. With requests pending the original runs
 * unchanged (its delay is then always positive). It applies only to the exact kafkajs version it
 * was written against, so an upgrade is a conscious decision.
 *
 * @see https://github.com/tulios/kafkajs/issues/1751
 */

const PATCHED_VERSION = '2.2.4';
const MARK = Symbol.for('ehrflow.kafkajs.requestQueuePatch');

interface RequestQueueProto {
  pending?: unknown[];
  scheduleCheckPendingRequests?: (this: RequestQueueProto) => void;
  [MARK]?: true;
}

export type PatchResult = 'applied' | 'already-applied' | 'skipped-version' | 'skipped-shape';

/** Applies the patch once per process; returns what happened (for a log line and for tests). */
export function patchKafkaJsRequestQueue(): PatchResult {
  const require = createRequire(import.meta.url);
  const { version } = require('kafkajs/package.json') as { version: string };
  if (version !== PATCHED_VERSION) return 'skipped-version';
  const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as {
    prototype: RequestQueueProto;
  };
  const proto = RequestQueue.prototype;
  if (proto[MARK]) return 'already-applied';
  const original = proto.scheduleCheckPendingRequests;
  if (typeof original !== 'function') return 'skipped-shape';
  proto.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: RequestQueueProto) {
    if (Array.isArray(this.pending) && this.pending.length === 0) return;
    original.call(this);
  };
  proto[MARK] = true;
  return 'applied';
}
