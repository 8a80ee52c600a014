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

/** What a raw format's mapping (HL7 v2, X12) says of one problem: no value, kinds and positions only. */
export interface MappingIssue {
  readonly resourceType: string | null;
  readonly expected: string | null;
  readonly observed: string | null;
}

/**
 * Drift a raw format's mapping found in one message or transaction set, before any contract
 * applies (no subject, no version). `label` stands for the resource type when the issue has none.
 */
export function mappingDrift(
  kind: DriftKind,
  issue: MappingIssue,
  at: {
    readonly sourceId: string;
    readonly label: string;
    readonly fieldPath: string;
    readonly offset: string;
    readonly at: number;
  },
): DriftObservation {
  return {
    kind,
    sourceId: at.sourceId,
    resourceType: issue.resourceType ?? at.label,
    subject: null,
    version: null,
    fieldPath: at.fieldPath,
    expectedType: issue.expected,
    observedType: issue.observed,
    offset: at.offset,
    at: at.at,
  };
}
