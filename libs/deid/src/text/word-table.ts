/**
 * An immutable set of words packed into one string: the words' characters end to end, where each
 * starts (a `Uint32Array`), and the words' order when sorted (another `Uint32Array`), so a look-up
 * is a binary search. A `Set` of 200,000 short words costs about 100 bytes a word in V8 (a string
 * object and a hash-table slot each); this costs the characters plus 8 bytes a word, and one
 * object for the garbage collector to trace instead of 200,000.
 *
 * Written here rather than taken from a package: the npm tries and DAWGs are unmaintained, and a
 * Bloom filter answers "maybe", which would turn ordinary words into names.
 */
export interface WordTable extends Iterable<string> {
  /** Distinct words held. */
  readonly size: number;
  /** Whether `word` is one of the words (exact, case-sensitive). */
  has(word: string): boolean;
}

/**
 * Packs `words` (duplicates dropped; iteration gives the first occurrence of each, in the order
 * given, so a frequency-ordered list stays in frequency order).
 */
export function packWords(words: Iterable<string>): WordTable {
  return tableOf(pack(words));
}

interface Packed {
  /** The words end to end, in first-occurrence order. */
  readonly text: string;
  /** Where word i starts in `text`; `starts[size]` is the text's length. */
  readonly starts: Uint32Array;
  /** Word indices in sorted order. */
  readonly sorted: Uint32Array;
}

// Kept apart from `tableOf`: a closure there would keep this function's arrays of strings alive.
function pack(words: Iterable<string>): Packed {
  const distinct = [...new Set(words)];
  const n = distinct.length;
  const starts = new Uint32Array(n + 1);
  let length = 0;
  for (let i = 0; i < n; i++) {
    starts[i] = length;
    length += (distinct[i] as string).length;
  }
  starts[n] = length;
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => {
    const x = distinct[a] as string;
    const y = distinct[b] as string;
    return x < y ? -1 : x > y ? 1 : 0;
  });
  // join() builds one flat string; the per-word strings can then be collected.
  return { text: distinct.join(''), starts, sorted: Uint32Array.from(order) };
}

function tableOf({ text, starts, sorted }: Packed): WordTable {
  const n = sorted.length;
  /** Sign of `word` compared with the i-th word, by UTF-16 code units (the order `<` sorts by). */
  const compare = (word: string, i: number): number => {
    const start = starts[i] as number;
    const len = (starts[i + 1] as number) - start;
    const common = Math.min(word.length, len);
    for (let k = 0; k < common; k++) {
      const d = word.charCodeAt(k) - text.charCodeAt(start + k);
      if (d !== 0) return d;
    }
    return word.length - len;
  };

  return {
    size: n,
    has(word) {
      let lo = 0;
      let hi = n - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const c = compare(word, sorted[mid] as number);
        if (c === 0) return true;
        if (c < 0) hi = mid - 1;
        else lo = mid + 1;
      }
      return false;
    },
    *[Symbol.iterator]() {
      for (let i = 0; i < n; i++) yield text.slice(starts[i], starts[i + 1]);
    },
  };
}
