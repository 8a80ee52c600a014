import type { StageCounts } from '@ehrflow/pipeline-tools';

export interface ProgressInput {
  readonly elapsedMs: number;
  readonly expected: number;
  readonly read: number;
  readonly counts: StageCounts;
  readonly jobsDone: number;
  readonly jobs: number;
  readonly throttled: number;
  readonly tokenRefreshes: number;
}

/**
 * One progress line: counts per stage, lag, rate and ETA. Counts and ids only.
 * The rate is loaded rows per second since the start; the ETA extrapolates it to the expected total.
 */
export function progressLine(p: ProgressInput): string {
  const seconds = p.elapsedMs / 1000;
  const c = p.counts;
  const settled = c.loaded + c.quarantined;
  const rate = seconds > 0 ? c.loaded / seconds : 0;
  const remaining = Math.max(0, p.expected - settled);
  const eta = rate > 0 ? `${Math.ceil(remaining / rate)}s` : '?';
  return (
    `[${Math.round(seconds)}s] jobs ${p.jobsDone}/${p.jobs} | read ${p.read}/${p.expected} raw ${c.raw} valid ${c.valid} ` +
    `quarantined ${c.quarantined} clean ${c.clean} loaded ${c.loaded} | lag validator ${c.lag.validator} ` +
    `redactor ${c.lag.redactor} | 429s ${p.throttled} token refreshes ${p.tokenRefreshes} | ${Math.round(rate)}/s ETA ${eta}`
  );
}

/** Writes progress: one line rewritten in place on a terminal, a line every `everyMs` otherwise. */
export function createProgressWriter(
  stream: NodeJS.WriteStream,
  everyMs = 5_000,
): { write(line: string): void; done(): void } {
  const tty = stream.isTTY === true;
  let last = 0;
  let open = false;
  return {
    write(line) {
      if (tty) {
        const width = stream.columns > 20 ? stream.columns - 1 : 160;
        stream.write(`\r\x1b[2K${line.slice(0, width)}`);
        open = true;
      } else if (Date.now() - last >= everyMs) {
        stream.write(`${line}\n`);
        last = Date.now();
      }
    },
    done() {
      if (open) stream.write('\n');
      open = false;
    },
  };
}
