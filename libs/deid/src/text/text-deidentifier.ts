import { scrub } from '@ehrflow/scrubber';
import type { KnownIdentifiers } from '../known-identifiers.ts';
import { clinicalDetectors } from './identifier-patterns.ts';
import { NAME_LAYERS, findNames, type NameLayer } from './name-detector.ts';
import { createTextMemo } from './text-memo.ts';

/**
 * The free-text de-identifier: detector layers run in order over one value, each writing typed
 * placeholders that later layers see (an e-mail that holds a name goes whole as `[EMAIL]`; a name
 * glued to `[NAME]` is found beside it).
 *
 * 1. `patterns` — the shared scrubber (`@ehrflow/scrubber`) and the clinical patterns: dates, ages
 *    over 89, phones, e-mail, URLs, IPs, SSNs, labelled ids, addresses (see identifier-patterns);
 * 2. `known` — the record's and its patient's own identifiers in any case or spacing;
 * 3. `context`, `dictionary`, `heuristic` — the name layers (see name-detector).
 */

export const TEXT_LAYERS = ['patterns', 'known', ...NAME_LAYERS] as const;
export type TextLayer = (typeof TEXT_LAYERS)[number];
export const ALL_TEXT_LAYERS: ReadonlySet<TextLayer> = new Set(TEXT_LAYERS);

export const NAME_PLACEHOLDER = '[NAME]';

export interface TextResult {
  readonly text: string;
  /** Words the name layers could only guess about: the residual risk of this value. */
  readonly residualRisk: number;
}

const ALL_NAME_LAYERS: ReadonlySet<NameLayer> = new Set(NAME_LAYERS);
/**
 * Texts kept per generation by each memo, and the longest text kept (see text-memo.ts): at most
 * 2 memos x 2 generations x 2,048 texts of up to 500 characters with their results, about 8 MB
 * (16 MB if every text needed two bytes a character), typically far less. Recurring values are
 * mostly short (dosage instructions, result strings, note templates); long notes seldom recur.
 */
const MEMO_ENTRIES = 2_048;
const MEMO_MAX_CHARS = 500;
/** `scrub` of raw values (it depends on nothing but the text). */
const scrubbed = createTextMemo<string>(MEMO_ENTRIES, MEMO_MAX_CHARS);
/**
 * The clinical patterns and the name layers of values whose known identifiers are replaced: what
 * they do depends on nothing but the text, and a note template with the patient's identifiers as
 * placeholders recurs across patients.
 */
const detected = createTextMemo<TextResult>(MEMO_ENTRIES, MEMO_MAX_CHARS);

/**
 * De-identifies one free-text value with the given layers (all of them unless a test or the
 * evaluation switches some off). With all layers, the steps that depend on the text alone are
 * memoised for recurring texts; the result is the same either way.
 */
export function deidentifyText(
  text: string,
  known: KnownIdentifiers,
  layers: ReadonlySet<TextLayer> = ALL_TEXT_LAYERS,
): TextResult {
  if (layers !== ALL_TEXT_LAYERS) return deidentifyWithLayers(text, known, layers);
  let out = scrubbed.get(text, scrub);
  if (known.size > 0) out = known.replace(out);
  return detected.get(out, detectRest);
}

/** The steps after the known identifiers, with every layer on. */
function detectRest(text: string): TextResult {
  const out = clinicalDetectors(text);
  const found = findNames(out, ALL_NAME_LAYERS);
  // Frozen: a kept result is handed to every caller of the same text.
  return Object.freeze({
    text: replaceNames(out, found.tokens, found.names),
    residualRisk: found.unclassified,
  });
}

/** {@link deidentifyText} step by step, without memos: any subset of the layers. */
export function deidentifyWithLayers(
  text: string,
  known: KnownIdentifiers,
  layers: ReadonlySet<TextLayer>,
): TextResult {
  let out = text;
  if (layers.has('patterns')) out = scrub(out);
  if (layers.has('known') && known.size > 0) out = known.replace(out);
  if (layers.has('patterns')) out = clinicalDetectors(out);
  const nameLayers = new Set<NameLayer>(NAME_LAYERS.filter((l) => layers.has(l)));
  if (nameLayers.size === 0) return { text: out, residualRisk: 0 };
  const found = findNames(out, nameLayers);
  return { text: replaceNames(out, found.tokens, found.names), residualRisk: found.unclassified };
}

/** Replaces name tokens by `[NAME]`, one placeholder per run of names joined by spaces. */
function replaceNames(
  text: string,
  tokens: readonly { start: number; end: number; text: string }[],
  names: ReadonlySet<number>,
): string {
  if (names.size === 0) return text;
  let out = '';
  let last = 0;
  const sorted = [...names].sort((a, b) => a - b);
  for (let k = 0; k < sorted.length; k += 1) {
    const first = sorted[k] ?? 0;
    let end = first;
    while (names.has(end + 1) && /^\s+$/.test(text.slice(tokens[end]?.end, tokens[end + 1]?.start))) end += 1;
    k += end - first;
    const a = tokens[first];
    const b = tokens[end];
    if (a === undefined || b === undefined) continue;
    const possessive = /['’]s$/i.exec(b.text)?.[0] ?? '';
    out += text.slice(last, a.start) + NAME_PLACEHOLDER + possessive;
    last = b.end;
  }
  return out + text.slice(last);
}
