import type { DriftKind } from '@ehrflow/contracts';

/** One record's evidence of drift, before aggregation. PHI-free: names, paths and type names. */
export interface DriftObservation {
  readonly kind: DriftKind;
  readonly sourceId: string;
  readonly resourceType: string;
  readonly subject: string | null;
  readonly version: number | null;
  readonly fieldPath: string | null;
  readonly expectedType: string | null;
  readonly observedType: string | null;
  /** Offset of the record (decimal string). */
  readonly offset: string;
  readonly at: number;
  /** For `fill_rate_drop`: the window that closed. */
  readonly fillRate?: {
    readonly observed: number;
    readonly expected: number | null;
    readonly baseline: number | null;
    readonly records: number;
  };
}
