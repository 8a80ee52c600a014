/**
 * Canary leak scan: searches text collected from every output of a run (log lines, alerts,
 * metrics, topic records, Redis keys and values, table rows) for canary identifiers planted in
 * the synthetic input. A hit names where and which canary by its label; the value itself is
 * never part of the result, so the report can be printed.
 */

/** A planted identifier. `label` is what reports show (`ssn`, `patient-3 family name`). */
export interface Canary {
  readonly label: string;
  readonly value: string;
}

/** Text from one place, e.g. `{ where: 'ehr.clean.Patient p0 o12', text }`. */
export interface Haystack {
  readonly where: string;
  readonly text: string;
}

export interface LeakHit {
  readonly where: string;
  readonly canary: string;
  readonly count: number;
}

export interface LeakScanOptions {
  /**
   * Also match a canary that holds digits with other separators between its letters and digits
   * (`000-12-3456` as `000 12 3456` or `000123456`). Default true.
   */
  readonly loose?: boolean;
  /** Canaries shorter than this are refused (they would match everywhere). Default 4. */
  readonly minLength?: number;
}

/**
 * Finds every canary in every haystack, case-insensitively.
 *
 * @throws RangeError when a canary is shorter than `minLength` (a test bug, not a finding).
 */
export function leakScan(
  haystacks: Iterable<Haystack | string>,
  canaries: readonly Canary[],
  options: LeakScanOptions = {},
): LeakHit[] {
  const loose = options.loose ?? true;
  const minLength = options.minLength ?? 4;
  const patterns = canaries.map((canary) => {
    if (canary.value.trim().length < minLength) {
      throw new RangeError(`canary ${canary.label} is shorter than ${minLength} characters`);
    }
    return { label: canary.label, pattern: canaryPattern(canary.value.trim(), loose) };
  });
  const hits: LeakHit[] = [];
  let index = 0;
  for (const haystack of haystacks) {
    const { where, text } = typeof haystack === 'string' ? { where: `#${index}`, text: haystack } : haystack;
    index += 1;
    for (const { label, pattern } of patterns) {
      const count = text.match(pattern)?.length ?? 0;
      if (count > 0) hits.push({ where, canary: label, count });
    }
  }
  return hits;
}

function canaryPattern(value: string, loose: boolean): RegExp {
  if (loose && /\d/.test(value)) {
    const chars = value.replace(/[^\p{L}\p{N}]/gu, '');
    return new RegExp([...chars].map(escape).join('[\\s().\\/_-]{0,2}'), 'giu');
  }
  return new RegExp(value.split(/\s+/).map(escape).join('\\s+'), 'giu');
}

function escape(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}
