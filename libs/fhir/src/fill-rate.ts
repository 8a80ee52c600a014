/**
 * Windowed fill-rate tracking per (source, resource type, field): how often a field that a source
 * used to fill arrives empty. A sudden drop usually means an upstream change (a renamed element,
 * a broken interface) that every record individually survives, so only the aggregate shows it.
 *
 * Windows are counted in records per source (pure, no clock). When a window closes, each field's
 * rate is compared with
 * - its contract `fillRate` (expected): a drop when rate < expected − tolerance;
 * - its baseline, an exponentially weighted average of the previous windows of that source:
 *   a drop when rate < baseline × baselineFactor.
 * The closing window then joins the baseline, so a lasting change stops alerting against the
 * baseline after a few windows (it keeps alerting against `fillRate` until the contract changes).
 */

export interface FillRateOptions {
  /** Records per window and source (default 500). */
  readonly windowSize?: number;
  /** Absolute slack below the contract `fillRate` (default 0.1). */
  readonly tolerance?: number;
  /** A drop when rate < baseline × this (default 0.7). */
  readonly baselineFactor?: number;
  /** Weight of the newest window in the baseline, 0..1 (default 0.3). */
  readonly smoothing?: number;
  /**
   * The expected rates a source's steward accepted (`npm run schemas -- baseline`), by field
   * name, or undefined when the source has no accepted baseline. When given, it replaces the
   * contract's `fillRate` as the expected rate: a field it does not list has none, and a source
   * without a baseline is compared with its own history only and reported once by
   * `needsBaseline()`. Without this option the contract's `fillRate` is the expected rate.
   */
  readonly expectedRates?: (sourceId: string) => Readonly<Record<string, number>> | undefined;
}

export type FillRateDropReason = 'below_expected' | 'below_baseline';

export interface FillRateDrop {
  readonly sourceId: string;
  readonly resourceType: string;
  /** Contract field name. */
  readonly fieldPath: string;
  /** Fill rate in the window that closed. */
  readonly observed: number;
  /** The contract `fillRate`, when declared. */
  readonly expected: number | null;
  /** Baseline before this window, null for a source's first window. */
  readonly baseline: number | null;
  /** Index of the window for this source (0-based). */
  readonly window: number;
  /** Records in the window. */
  readonly records: number;
  readonly reasons: readonly FillRateDropReason[];
}

/** The part of a contract (`Contract` from `@ehrflow/contracts`) the tracker reads. */
export interface FillRateContract {
  readonly name: string;
  readonly fields: readonly {
    readonly name: string;
    readonly fillRate: number | undefined;
    readonly fhirPath: string | undefined;
    readonly attrs: Readonly<Record<string, unknown>>;
  }[];
}

export interface FillRateTracker {
  /** Counts one mapped record (its `sourceId` field picks the window). */
  observe(record: Readonly<Record<string, unknown>>): void;
  /** Closes every open window holding at least `minRecords` records (e.g. at the end of a job). */
  flush(minRecords?: number): void;
  /** Drops found since the last call (the list is drained). */
  drops(): FillRateDrop[];
  /**
   * Sources that closed a window without an accepted baseline, each once per tracker (drained);
   * empty unless `expectedRates` is set.
   */
  needsBaseline(): string[];
}

interface SourceWindow {
  index: number;
  count: number;
  readonly filled: number[];
  readonly baselines: (number | null)[];
}

/** A tracker for one contract; fields mapped from the resource (not pipeline metadata) are tracked. */
export function createFillRateTracker(
  contract: FillRateContract,
  options: FillRateOptions = {},
): FillRateTracker {
  const windowSize = options.windowSize ?? 500;
  const tolerance = options.tolerance ?? 0.1;
  const factor = options.baselineFactor ?? 0.7;
  const smoothing = options.smoothing ?? 0.3;
  if (!Number.isInteger(windowSize) || windowSize < 1)
    throw new RangeError('windowSize must be a positive integer');
  if (smoothing <= 0 || smoothing > 1) throw new RangeError('smoothing must be in (0, 1]');
  const resourceType = contract.name.slice(contract.name.lastIndexOf('.') + 1);
  const fields = contract.fields.filter((f) => f.fhirPath !== undefined || f.attrs.fhirChoice !== undefined);
  const windows = new Map<string, SourceWindow>();
  let pending: FillRateDrop[] = [];
  let unbaselined: string[] = [];
  const reported = new Set<string>();

  const close = (sourceId: string, w: SourceWindow): void => {
    const accepted = options.expectedRates === undefined ? undefined : options.expectedRates(sourceId);
    if (options.expectedRates !== undefined && accepted === undefined && !reported.has(sourceId)) {
      reported.add(sourceId);
      unbaselined.push(sourceId);
    }
    fields.forEach((field, i) => {
      const observed = (w.filled[i] ?? 0) / w.count;
      const baseline = w.baselines[i] ?? null;
      const expected =
        options.expectedRates === undefined ? (field.fillRate ?? null) : (accepted?.[field.name] ?? null);
      const reasons: FillRateDropReason[] = [];
      if (expected !== null && observed < expected - tolerance) reasons.push('below_expected');
      if (baseline !== null && observed < baseline * factor) reasons.push('below_baseline');
      if (reasons.length > 0) {
        pending.push({
          sourceId,
          resourceType,
          fieldPath: field.name,
          observed,
          expected,
          baseline,
          window: w.index,
          records: w.count,
          reasons,
        });
      }
      w.baselines[i] = baseline === null ? observed : smoothing * observed + (1 - smoothing) * baseline;
      w.filled[i] = 0;
    });
    w.count = 0;
    w.index++;
  };

  return {
    observe(record) {
      const sourceId = typeof record.sourceId === 'string' ? record.sourceId : '(unknown source)';
      let w = windows.get(sourceId);
      if (w === undefined) {
        w = { index: 0, count: 0, filled: fields.map(() => 0), baselines: fields.map(() => null) };
        windows.set(sourceId, w);
      }
      w.count++;
      fields.forEach((field, i) => {
        if (isFilled(record[field.name])) w.filled[i] = (w.filled[i] ?? 0) + 1;
      });
      if (w.count >= windowSize) close(sourceId, w);
    },
    flush(minRecords = 1) {
      for (const [sourceId, w] of windows) if (w.count > 0 && w.count >= minRecords) close(sourceId, w);
    },
    drops() {
      const out = pending;
      pending = [];
      return out;
    },
    needsBaseline() {
      const out = unbaselined;
      unbaselined = [];
      return out;
    },
  };
}

function isFilled(value: unknown): boolean {
  if (value === null || value === undefined || value === '') return false;
  return !Array.isArray(value) || value.length > 0;
}
