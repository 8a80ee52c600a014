import type { ContractPolicy } from '@ehrflow/contracts';

/**
 * What a mapping found wrong with a resource, by path and type names only — never a value, so an
 * issue can go into a quarantine reason, a drift event, a log line or a metric as it is.
 */
export type IssueKind = 'missing_required' | 'type_mismatch' | 'unexpected_field' | 'contract_violation';

export interface Issue {
  readonly kind: IssueKind;
  /** FHIR path (`Patient.birthDate`, `Patient.name.nickname`) or, for pipeline fields, the contract field. */
  readonly path: string;
  /** The contract field concerned, when the issue is about one. */
  readonly field?: string;
  /** Type name expected (`string`, `date`, `array`, `Reference(Patient)`). */
  readonly expected?: string;
  /** Type name observed (`number`, `object`, `2 types`). */
  readonly observed?: string;
}

/**
 * Whether an issue keeps the record from being produced. Missing, retyped and rule-breaking fields
 * always do (they are never mapped to null); unexpected fields only under a `strict` policy —
 * under `lenient` they are drift events.
 */
export function isBlocking(issue: Issue, policy: ContractPolicy): boolean {
  switch (issue.kind) {
    case 'missing_required':
    case 'type_mismatch':
    case 'contract_violation':
      return true;
    case 'unexpected_field':
      return policy === 'strict';
  }
}

/** Removes repeated issues (same kind, path and field), keeping the first. */
export function dedupeIssues(issues: readonly Issue[]): Issue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.kind}\u0000${issue.path}\u0000${issue.field ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
