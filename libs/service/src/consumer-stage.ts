import type { ConsumerRunner } from '@ehrflow/kafka';
import type { SafeGauge } from './metrics.ts';

/** A consumer stage's running part: what `runStage`'s handle needs from it. */
export interface ConsumerStage {
  /** Settles when consumption ends: resolves after `stop()`, rejects on a permanent failure. */
  readonly done: Promise<void>;
  readonly ready: () => boolean;
  /** Drains: the in-flight chunk finishes and commits, the consumer leaves, then `close` runs. Idempotent. */
  readonly stop: () => Promise<void>;
}

export interface ConsumerStageOptions {
  /** The consumer runner's counters are copied into this gauge (label `stat`) every `statsIntervalMs`. */
  readonly stats?: SafeGauge<'stat'>;
  /** Default 5000 ms. */
  readonly statsIntervalMs?: number;
  /** Releases what the stage holds besides the runner (registry, producers, Redis), after the runner stopped. */
  close(): Promise<void>;
}

/** Runs `runner`, exports its counters, and stops it (then `close`) once, however often `stop` is called. */
export function runConsumerStage(runner: ConsumerRunner, options: ConsumerStageOptions): ConsumerStage {
  const done = runner.run();
  const { stats } = options;
  const timer =
    stats === undefined
      ? undefined
      : setInterval(() => {
          for (const [stat, value] of Object.entries(runner.stats())) stats.set({ stat }, value as number);
        }, options.statsIntervalMs ?? 5_000);
  timer?.unref();
  let stopping: Promise<void> | undefined;
  return {
    done,
    ready: () => runner.ready(),
    stop: () => {
      stopping ??= (async () => {
        clearInterval(timer);
        try {
          await runner.stop();
        } finally {
          await options.close();
        }
      })();
      return stopping;
    },
  };
}
