/**
 * CPU time per record: a stage's process CPU (user + system) spent between two samples, divided
 * by the records it handled in between. On a machine shared with other work a rate swings with
 * the neighbours' load, while the CPU a process spends on a record barely moves, so this is the
 * figure to compare two versions of a stage by.
 */

import { formatMicros } from '@ehrflow/pipeline-tools';

/**
 * One reading of a process: cumulative CPU seconds and cumulative records handled; for a service,
 * also its garbage collector's cumulative pause time and count of young-generation collections.
 */
export interface CpuSample {
  readonly cpuSeconds: number;
  readonly records: number;
  readonly gc?: GcSample;
}

/** Cumulative garbage collection of a process, from prom-client's `nodejs_gc_duration_seconds`. */
export interface GcSample {
  /** Main-thread pause time of every kind of collection, seconds. */
  readonly seconds: number;
  /** Young-generation collections (scavenges). */
  readonly minor: number;
}

/** CPU spent between two samples of one process. */
export interface CpuFigure {
  readonly cpuSeconds: number;
  readonly records: number;
  /** Microseconds of process CPU per record handled (user + system). */
  readonly microsPerRecord: number;
  /** The garbage collector's share, when both samples have it. */
  readonly gc?: GcFigure;
}

/**
 * Garbage collection per record between two samples. The pause time is the main thread's wall
 * time in collections: on busy cores it includes waiting for the collector's helper threads, so
 * it is an upper bound on the collector's CPU, not a part of `microsPerRecord`. The scavenge count
 * follows what the stage allocates per record (a scavenge runs each time the young generation
 * fills), so it moves with the code, hardly with the host's speed.
 */
export interface GcFigure {
  readonly seconds: number;
  readonly microsPerRecord: number;
  readonly scavengesPer1000Records: number;
}

/** The CPU figure between two samples; undefined when no record was handled in between. */
export function cpuBetween(before: CpuSample, after: CpuSample): CpuFigure | undefined {
  const records = after.records - before.records;
  const cpuSeconds = after.cpuSeconds - before.cpuSeconds;
  if (!(records > 0) || !(cpuSeconds >= 0)) return undefined;
  const gc =
    before.gc !== undefined && after.gc !== undefined ? gcBetween(before.gc, after.gc, records) : undefined;
  return {
    cpuSeconds: round(cpuSeconds, 3),
    records,
    microsPerRecord: round((cpuSeconds * 1e6) / records, 1),
    ...(gc !== undefined ? { gc } : {}),
  };
}

function gcBetween(before: GcSample, after: GcSample, records: number): GcFigure | undefined {
  const seconds = after.seconds - before.seconds;
  const minor = after.minor - before.minor;
  if (!(seconds >= 0) || !(minor >= 0)) return undefined;
  return {
    seconds: round(seconds, 3),
    microsPerRecord: round((seconds * 1e6) / records, 1),
    scavengesPer1000Records: round((minor * 1000) / records, 2),
  };
}

/** Name of prom-client's process CPU counter as the services expose it (`ehrflow_` prefix). */
export const PROCESS_CPU_METRIC = 'ehrflow_process_cpu_seconds_total';
/** prom-client's histogram of garbage collection pauses, by `kind`, as the services expose it. */
export const GC_DURATION_METRIC = 'ehrflow_nodejs_gc_duration_seconds';

/**
 * Reads a service's cumulative CPU, its record counter and (when exposed) its garbage collection
 * from its Prometheus text; undefined when the text has no CPU counter (service unreachable). A
 * missing record counter reads as 0.
 */
export function sampleOfMetrics(
  text: string,
  recordsMetric: string,
  sum: (text: string, name: string, labelFilter?: (labels: string) => boolean) => number,
): CpuSample | undefined {
  if (!text.includes(PROCESS_CPU_METRIC)) return undefined;
  const sample = { cpuSeconds: sum(text, PROCESS_CPU_METRIC), records: sum(text, recordsMetric) };
  if (!text.includes(`${GC_DURATION_METRIC}_sum`)) return sample;
  const minor = (labels: string): boolean => labels.includes('kind="minor"');
  return {
    ...sample,
    gc: {
      seconds: sum(text, `${GC_DURATION_METRIC}_sum`),
      minor: sum(text, `${GC_DURATION_METRIC}_count`, minor),
    },
  };
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

/**
 * The stages' garbage collection, when their metrics carried it: main-thread pause µs per
 * resource and scavenges per 1,000 resources (the allocation yardstick: it hardly moves with the
 * host's speed).
 */
export function formatGc(
  stages: readonly { readonly stage: string; readonly cpu?: CpuFigure | undefined }[],
): string | undefined {
  const parts = stages.flatMap((s) => {
    const gc = s.cpu?.gc;
    return gc === undefined
      ? []
      : [
          `${s.stage.split(' ')[0]} ${formatMicros(gc.microsPerRecord)} (${gc.scavengesPer1000Records.toFixed(2)})`,
        ];
  });
  if (parts.length === 0) return undefined;
  return `garbage collection, end-to-end: main-thread pause µs per resource (scavenges per 1,000 resources): ${parts.join(', ')}`;
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
