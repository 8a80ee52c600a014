/**
 * Worker thread of the MLLP benchmark: the senders run here, so the main thread's CPU time
 * (`process.threadCpuUsage()`) is the receiver's alone.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runFeed } from '@ehrflow/hl7-sim';

/** What the main thread asks for. */
export interface SendersJob {
  readonly port: number;
  readonly phase: string;
  readonly senders: number;
  readonly perSender: number;
  readonly bytes: number;
  /** Messages per second per sender; unpaced when absent. */
  readonly rate?: number;
}

/** What the worker answers, per sender. */
export interface SendersResult {
  readonly acked: number;
  readonly latenciesMs: readonly number[];
}

const job = workerData as SendersJob;
const results = await Promise.all(
  Array.from({ length: job.senders }, (_, s) =>
    runFeed({
      port: job.port,
      sendingApplication: `BENCH${s}`,
      controlIdPrefix: `${job.phase}-${s}`,
      count: job.perSender,
      seed: s + 1,
      deadlineMs: 300_000,
      targetBytes: job.bytes,
      ...(job.rate !== undefined ? { rate: job.rate } : {}),
    }),
  ),
);
parentPort?.postMessage(
  results.map((r): SendersResult => ({ acked: r.acked.size, latenciesMs: r.latenciesMs })),
);
