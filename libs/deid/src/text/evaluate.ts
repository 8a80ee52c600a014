import { compileKnownIdentifiers } from '../known-identifiers.ts';
import { IDENTIFIER_CLASSES, type IdentifierClass, type LabelledNote, type SpanClass } from './corpus.ts';
import { deidentifyWithLayers, type TextLayer } from './text-deidentifier.ts';

/**
 * Scores the free-text de-identifier on labelled notes, token by token: the output is aligned to
 * the input (longest common subsequence of tokens), so a token is "removed" when it is not
 * carried over, whatever replaced it. A removed token's predicted class is the placeholder that
 * took its place.
 *
 * - recall of a class: its annotated tokens removed / its annotated tokens;
 * - precision of a class: tokens removed *as* that class that were annotated as any identifier /
 *   tokens removed as that class (a city taken for a name is still PHI gone);
 * - clinical words removed: `KEEP` tokens removed / `KEEP` tokens.
 */

export interface ClassScore {
  readonly gold: number;
  readonly found: number;
  readonly recall: number;
  readonly predicted: number;
  readonly correct: number;
  readonly precision: number;
}

export interface EvalResult {
  readonly notes: number;
  readonly classes: Readonly<Record<IdentifierClass, ClassScore>>;
  readonly overall: ClassScore;
  readonly keepTokens: number;
  readonly keepRemoved: number;
  readonly keepRemovedRate: number;
  /** Allowlisted words removed, with counts (the words themselves are synthetic vocabulary). */
  readonly keepRemovedWords: Readonly<Record<string, number>>;
  /** Un-annotated, non-identifier tokens removed (over-redaction of ordinary text). */
  readonly otherRemoved: number;
  readonly otherTokens: number;
  /** Identifiers missed, up to 20 samples per class with their note context (synthetic only). */
  readonly missed: Readonly<Partial<Record<IdentifierClass, readonly string[]>>>;
  readonly residualRisk: { readonly max: number; readonly p99: number; readonly mean: number };
  readonly notesPerSecond: number;
}

/** As the detector's tokens, but "90s" is one token (so "in her 90s" → "90+" counts as found). */
const TOKEN =
  /\[[A-Z]+\]|\p{L}[\p{L}\p{M}]*(?:['’-]\p{L}[\p{L}\p{M}]*)*|\d+(?:[.,]\d+)*(?:st|nd|rd|th|s\b)?/gu;
const PLACEHOLDER_CLASS: Readonly<Record<string, IdentifierClass>> = {
  '[NAME]': 'NAME',
  '[DATE]': 'DATE',
  '[PHONE]': 'PHONE',
  '[EMAIL]': 'EMAIL',
  '[URL]': 'URL',
  '[IP]': 'IP',
  '[SSN]': 'SSN',
  '[ID]': 'ID',
  '[REDACTED]': 'ID',
  '[ADDRESS]': 'ADDRESS',
  '90': 'AGE',
};

interface Tok {
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

function tokens(text: string): Tok[] {
  return [...text.matchAll(TOKEN)].map((m) => ({ text: m[0], start: m.index, end: m.index + m[0].length }));
}

/** For each input token, whether it survives in the output, and the class of what replaced it. */
function align(
  input: readonly Tok[],
  output: readonly Tok[],
): { kept: boolean[]; replacedBy: (IdentifierClass | undefined)[][] } {
  const n = input.length;
  const m = output.length;
  const lcs = new Uint16Array((n + 1) * (m + 1));
  const at = (i: number, j: number) => i * (m + 1) + j;
  for (let i = n - 1; i >= 0; i -= 1) {
    for (let j = m - 1; j >= 0; j -= 1) {
      lcs[at(i, j)] =
        input[i]?.text === output[j]?.text
          ? (lcs[at(i + 1, j + 1)] ?? 0) + 1
          : Math.max(lcs[at(i + 1, j)] ?? 0, lcs[at(i, j + 1)] ?? 0);
    }
  }
  const kept = new Array<boolean>(n).fill(false);
  const replacedBy: (IdentifierClass | undefined)[][] = Array.from({ length: n }, () => []);
  let i = 0;
  let j = 0;
  let removed: number[] = [];
  let inserted: (IdentifierClass | undefined)[] = [];
  const flush = () => {
    for (const k of removed) replacedBy[k] = inserted;
    removed = [];
    inserted = [];
  };
  while (i < n || j < m) {
    if (i < n && j < m && input[i]?.text === output[j]?.text) {
      flush();
      kept[i] = true;
      i += 1;
      j += 1;
    } else if (j < m && (i >= n || (lcs[at(i, j + 1)] ?? 0) >= (lcs[at(i + 1, j)] ?? 0))) {
      inserted.push(PLACEHOLDER_CLASS[output[j]?.text ?? '']);
      j += 1;
    } else {
      removed.push(i);
      i += 1;
    }
  }
  flush();
  return { kept, replacedBy };
}

function score(gold: number, found: number, predicted: number, correct: number): ClassScore {
  return {
    gold,
    found,
    recall: gold === 0 ? 1 : found / gold,
    predicted,
    correct,
    precision: predicted === 0 ? 1 : correct / predicted,
  };
}

/** Runs the de-identifier with `layers` over `notes` and scores it. */
export function evaluate(notes: readonly LabelledNote[], layers: ReadonlySet<TextLayer>): EvalResult {
  const counts = Object.fromEntries(
    IDENTIFIER_CLASSES.map((c) => [c, { gold: 0, found: 0, predicted: 0, correct: 0 }]),
  ) as Record<IdentifierClass, { gold: number; found: number; predicted: number; correct: number }>;
  let keepTokens = 0;
  let keepRemoved = 0;
  let otherTokens = 0;
  let otherRemoved = 0;
  const keepRemovedWords: Record<string, number> = {};
  const missed: Partial<Record<IdentifierClass, string[]>> = {};
  const risks: number[] = [];
  const outputs: string[] = [];
  const known = notes.map((note) => compileKnownIdentifiers(note.known));
  // Warm up (word lists load on first use, regexes compile) so throughput is the steady state.
  // Without the memos of recurring texts: the throughput is that of notes never seen before.
  for (let k = 0; k < Math.min(50, notes.length); k += 1)
    deidentifyWithLayers(notes[k]?.text ?? '', known[k] ?? compileKnownIdentifiers([]), layers);
  const started = performance.now();
  for (let k = 0; k < notes.length; k += 1) {
    const result = deidentifyWithLayers(
      notes[k]?.text ?? '',
      known[k] ?? compileKnownIdentifiers([]),
      layers,
    );
    outputs.push(result.text);
    risks.push(result.residualRisk);
  }
  const seconds = (performance.now() - started) / 1000;
  notes.forEach((note, k) => {
    const input = tokens(note.text);
    const { kept, replacedBy } = align(input, tokens(outputs[k] ?? ''));
    input.forEach((tok, i) => {
      const span = note.spans.find((s) => tok.start < s.end && tok.end > s.start);
      const cls: SpanClass | undefined = span?.cls;
      const removed = !kept[i];
      if (cls === 'KEEP') {
        keepTokens += 1;
        if (removed) {
          keepRemoved += 1;
          keepRemovedWords[tok.text] = (keepRemovedWords[tok.text] ?? 0) + 1;
        }
      } else if (cls !== undefined) {
        counts[cls].gold += 1;
        if (removed) counts[cls].found += 1;
        else if ((missed[cls]?.length ?? 0) < 20) {
          (missed[cls] ??= []).push(
            `${tok.text} | ${note.text.slice(Math.max(0, tok.start - 40), tok.end + 30).replace(/\n/g, ' ')}`,
          );
        }
      } else {
        otherTokens += 1;
        if (removed) otherRemoved += 1;
      }
      if (!removed) return;
      const by = replacedBy[i] ?? [];
      const predictedClass =
        (cls !== undefined && cls !== 'KEEP' && by.includes(cls) ? cls : by.find((c) => c !== undefined)) ??
        'NAME';
      counts[predictedClass].predicted += 1;
      if (cls !== undefined && cls !== 'KEEP') counts[predictedClass].correct += 1;
    });
  });
  const classes = Object.fromEntries(
    IDENTIFIER_CLASSES.map((c) => [
      c,
      score(counts[c].gold, counts[c].found, counts[c].predicted, counts[c].correct),
    ]),
  ) as Record<IdentifierClass, ClassScore>;
  const sum = (f: (s: ClassScore) => number) => IDENTIFIER_CLASSES.reduce((a, c) => a + f(classes[c]), 0);
  const sorted = [...risks].sort((a, b) => a - b);
  return {
    notes: notes.length,
    classes,
    overall: score(
      sum((s) => s.gold),
      sum((s) => s.found),
      sum((s) => s.predicted),
      sum((s) => s.correct),
    ),
    keepTokens,
    keepRemoved,
    keepRemovedRate: keepTokens === 0 ? 0 : keepRemoved / keepTokens,
    keepRemovedWords,
    otherRemoved,
    otherTokens,
    missed,
    residualRisk: {
      max: sorted.at(-1) ?? 0,
      p99: sorted[Math.floor(sorted.length * 0.99)] ?? 0,
      mean: risks.reduce((a, b) => a + b, 0) / Math.max(1, risks.length),
    },
    notesPerSecond: seconds === 0 ? 0 : notes.length / seconds,
  };
}
