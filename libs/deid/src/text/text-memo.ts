/**
 * Results of a pure function of a text, kept for texts that recur: the same dosage instruction,
 * result string or note template (once the patient's own identifiers are placeholders) comes
 * back record after record, and de-identifying it again costs tens of microseconds.
 *
 * Two generations of at most `entries` texts each; when the young one fills, the old one is
 * dropped whole (bounded memory, no per-entry bookkeeping). Texts longer than `maxChars` are not
 * kept: long notes seldom recur word for word. Keys are the texts themselves, never a hash of
 * them (a hash collision would hand one text another's result), and they stay in this process's
 * memory, where the records are; nothing here is logged, exported or sent.
 */
export interface TextMemo<V> {
  /** The result for `text`, computed with `compute` unless it is kept. */
  get(text: string, compute: (text: string) => V): V;
}

export function createTextMemo<V>(entries: number, maxChars: number): TextMemo<V> {
  let young = new Map<string, V>();
  let old = new Map<string, V>();
  return {
    get(text, compute) {
      if (text.length > maxChars) return compute(text);
      const kept = young.get(text);
      if (kept !== undefined) return kept;
      const value = old.get(text) ?? compute(text);
      if (young.size >= entries) {
        old = young;
        young = new Map();
      }
      young.set(text, value);
      return value;
    },
  };
}
