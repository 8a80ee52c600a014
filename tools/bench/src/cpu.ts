/**
 * CPU time per record: a stage's process CPU (user + system) spent between two samples, divided
 * by the records it handled in between. On a machine shared with other work a rate swings with
 * the neighbours' load, while the CPU a process spends on a record barely moves, so this is the
 * figure to compare two versions of a stage by.
 */

/** One reading of a process: cumulative CPU seconds and cumulative records handled. */
export interface CpuSample {
  readonly cpuSeconds: number;
  readonly records: number;
}

/** CPU spent between two samples of one process. */
export interface CpuFigure {
  readonly cpuSeconds: number;
  readonly records: number;
  /** Microseconds of process CPU per record handled (user + system). */
  readonly microsPerRecord: number;
}

/** The CPU figure between two samples; undefined when no record was handled in between. */
export function cpuBetween(before: CpuSample, after: CpuSample): CpuFigure | undefined {
  const records = after.records - before.records;
  const cpuSeconds = after.cpuSeconds - before.cpuSeconds;
  if (!(records > 0) || !(cpuSeconds >= 0)) return undefined;
  return {
    cpuSeconds: round(cpuSeconds, 3),
    records,
    microsPerRecord: round((cpuSeconds * 1e6) / records, 1),
  };
}

/** Name of prom-client's process CPU counter as the services expose it (`ehrflow_` prefix). */
export const PROCESS_CPU_METRIC = 'ehrflow_process_cpu_seconds_total';

/**
 * Reads a service's cumulative CPU and its record counter from its Prometheus text; undefined
 * when the text has no CPU counter (service unreachable). A missing record counter reads as 0.
 */
export function sampleOfMetrics(
  text: string,
  recordsMetric: string,
  sum: (text: string, name: string) => number,
): CpuSample | undefined {
  if (!text.includes(PROCESS_CPU_METRIC)) return undefined;
  return { cpuSeconds: sum(text, PROCESS_CPU_METRIC), records: sum(text, recordsMetric) };
}

/** Sums CPU figures (a whole pipeline); `records` is the count the total is divided by. */
export function totalCpu(
  figures: readonly (CpuFigure | undefined)[],
  records: number,
): CpuFigure | undefined {
  const known = figures.filter((f): f is CpuFigure => f !== undefined);
  if (known.length === 0 || records <= 0) return undefined;
  const cpuSeconds = known.reduce((s, f) => s + f.cpuSeconds, 0);
  return {
    cpuSeconds: round(cpuSeconds, 3),
    records,
    microsPerRecord: round((cpuSeconds * 1e6) / records, 1),
  };
}

/** This process's CPU seconds so far (user + system). */
export function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
