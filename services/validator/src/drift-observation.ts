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

/** Where a raw format's path reports one mapping issue: its drift kind, feed, label and position. */
export interface DriftPlace {
  readonly kind: DriftKind;
  readonly sourceId: string;
  /** Stands for the resource type when the issue has none (`HL7v2:ADT_A01`, `X12:837P`). */
  readonly label: string;
  readonly fieldPath: string;
}

/**
 * Drift a raw format's mapping found in one message or transaction set (at `offset`), before any
 * contract applies (no subject, no version).
 */
export function mappingDrift(
  issue: MappingIssue,
  place: DriftPlace,
  offset: string,
  at: number,
): DriftObservation {
  return {
    kind: place.kind,
    sourceId: place.sourceId,
    resourceType: issue.resourceType ?? place.label,
    subject: null,
    version: null,
    fieldPath: place.fieldPath,
    expectedType: issue.expected,
    observedType: issue.observed,
    offset,
    at,
  };
}
