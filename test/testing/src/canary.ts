/**
 * Canary matching for the leak scan. A canary is a planted identifier (a name, an SSN, a phone
 * number); a match anywhere outside an encrypted field is a leak. Results name the canary by its
 * index in the list, never by its value, so they can be printed and written to reports.
 */

/** How many times canary `index` matched. */
export interface CanaryMatch {
  readonly index: number;
  readonly count: number;
}

/** Finds canaries in text or bytes. */
export interface CanaryMatcher {
  readonly size: number;
  /** Matches in a string. */
  find(text: string): CanaryMatch[];
  /** Matches in bytes, read as UTF-8 and as Latin-1 (so a canary inside binary data is found too). */
  findInBytes(bytes: Uint8Array): CanaryMatch[];
}

/** Canaries shorter than this would match everywhere; they are refused. */
export const MIN_CANARY_LENGTH = 4;

/** Characters a formatted number may carry between its digits: `(555) 555-0123`, `1931/04/17`. */
const SEPARATORS = String.raw`[\s().\/_-]{0,2}`;

/**
 * Compiles canaries into one matcher. Matching is case-insensitive. A canary that contains digits
 * also matches with other separators between its letters and digits (`900-47-1234` as
 * `900471234` or `900 47 1234`, a birth date turned into the number `19310417`); a canary of
 * words also matches with other whitespace between the words.
 *
 * @throws RangeError when a canary is shorter than {@link MIN_CANARY_LENGTH} (a test set-up bug).
 */
export function createCanaryMatcher(canaries: readonly string[]): CanaryMatcher {
  const patterns = canaries.map((value, index) => {
    const trimmed = value.trim();
    if (trimmed.length < MIN_CANARY_LENGTH) {
      throw new RangeError(`canary #${index} is shorter than ${MIN_CANARY_LENGTH} characters`);
    }
    return canaryPattern(trimmed);
  });

  function find(text: string): CanaryMatch[] {
    const out: CanaryMatch[] = [];
    for (const [index, pattern] of patterns.entries()) {
      pattern.lastIndex = 0;
      const count = text.match(pattern)?.length ?? 0;
      if (count > 0) out.push({ index, count });
    }
    return out;
  }

  return {
    size: patterns.length,
    find,
    findInBytes(bytes) {
      const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      return mergeMatches([find(buf.toString('utf8')), find(buf.toString('latin1'))]);
    },
  };
}

/** Keeps the larger count per canary index. */
export function mergeMatches(lists: readonly (readonly CanaryMatch[])[]): CanaryMatch[] {
  const best = new Map<number, number>();
  for (const list of lists) {
    for (const { index, count } of list) best.set(index, Math.max(best.get(index) ?? 0, count));
  }
  return [...best.entries()].sort((a, b) => a[0] - b[0]).map(([index, count]) => ({ index, count }));
}

function canaryPattern(value: string): RegExp {
  if (/\d/.test(value)) {
    const chars = [...value.replace(/[^\p{L}\p{N}]/gu, '')];
    return new RegExp(chars.map(escapeRegExp).join(SEPARATORS), 'giu');
  }
  return new RegExp(
    value
      .split(/\s+/)
      .map(escapeRegExp)
      .join(String.raw`\s+`),
    'giu',
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, String.raw`\$&`);
}
