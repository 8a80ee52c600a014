import {
  isClinical,
  isCommonName,
  isDictionaryName,
  isEnglish,
  isEponym,
  isEponymHead,
  isGivenName,
  isRareEnglish,
} from './name-lexicon.ts';
import { isWord, tokenize, type Token } from './tokens.ts';

/**
 * Finds person names in free text that no list of known identifiers holds: relatives, clinicians,
 * callers, anyone. Three layers, each switchable (the evaluation measures them one by one):
 *
 * - **context** — what surrounds a word: a title (`Mr`, `Dr.`), a role (`daughter`, `wife`,
 *   `husband`), a verb of contact (`spoke with`, `called`, `per`, `c/o`), a label (`Name:`,
 *   `Patient:`, `NOK:`), a credential after it (`, RN`), a signature line;
 * - **dictionary** — census given names and surnames: a name that is no English word is a name
 *   anywhere and in any case; one that is also a word (`Hope`, `Will`, `Brown`) only when
 *   capitalised inside a sentence, beside another name, or before a verb of speech at the start;
 * - **heuristic** — a capitalised word that is neither English, clinical nor a number is a name
 *   (invented and foreign names), and so is a lower-case word no list knows (counted as
 *   unclassified: the residual risk).
 *
 * Clinical vocabulary (eponyms, drug names, abbreviations) is never a name unless a title
 * precedes it (`Dr. Parkinson`).
 */

export const NAME_LAYERS = ['context', 'dictionary', 'heuristic'] as const;
export type NameLayer = (typeof NAME_LAYERS)[number];

export interface NameFindings {
  readonly tokens: readonly Token[];
  /** Indices of name tokens. */
  readonly names: ReadonlySet<number>;
  /** Words the detector could only guess about (unknown lower-case words, unknown acronyms). */
  readonly unclassified: number;
}

const words = (text: string): ReadonlySet<string> => new Set(text.trim().split(/\s+/));

const TITLES = words(`mr mrs ms miss mx dr doctor prof professor nurse rev reverend fr
  sr capt sgt officer judge pastor`);
/** People other than the patient, named after their role ("daughter Hope", "wife: Rose"). */
const ROLES = words(`daughter son wife husband spouse partner mother mom mum father dad brother sister
  sibling child children grandson granddaughter grandmother grandfather grandma grandpa niece
  nephew aunt uncle cousin friend neighbor neighbour caregiver carer guardian boyfriend girlfriend
  fiance fiancee roommate employer boss supervisor coworker co-worker landlord pastor chaplain
  interpreter translator proxy poa nok stepson stepdaughter stepmother stepfather sitter aide
  attending resident fellow intern pcp provider surgeon physician therapist pharmacist
  hospitalist intensivist cardiologist neurologist oncologist nephrologist psychiatrist
  psychologist dietitian nutritionist coordinator manager worker contact witness`);
/** Verbs and prepositions after which a capitalised word is a person. */
const CONTACT_WORDS = words(`called phoned texted emailed paged messaged per spoke talked discussed
  informed notified told asked met visited accompanied seen signed dictated transcribed witnessed
  reviewed referred ordered covering cc attn attention c/o via from for by with to sent
  consented thanked counseled counselled educated`);
/** Labels of a name field inside a note ("Name:", "NOK:"). */
const LABELS = words(`name patient pt contact nok kin guardian signed provider attending pcp
  referring from to cc signature author by re resident nurse physician caller`);
/** Verbs of speech or presence that make a sentence-initial name-word a name ("Rose called"). */
const SPEECH_VERBS = words(`called phoned reports reported states stated said says visited
  came arrived agrees agreed declined consented asked asks requests requested notes noted
  confirmed confirms denies denied was is has had will would brought left signed`);
const CREDENTIALS = words(`md do rn np pa pa-c lpn cna phd pharmd msw lcsw dds dmd od dpt pt ot
  slp rd crna aprn fnp dnp mph mba esq`);
/** Function words that never start or continue a name. */
const STOP = words(`a an the and or but of in on at to for from by with without as is are was were be
  been being this that these those it its his her their our your my he she they we you i me him
  them us not no yes all any each every some per via re pt patient who whom whose which what when
  where why how about after before during over under into onto upon than then there here also
  again today tonight tomorrow yesterday please thanks thank ok okay`);

const MAX_NAME_TOKENS = 4;
/** Surname particles: part of the name before a name ("van Banes", "de la Cruz"). */
const PARTICLES = words('van von der den de da del della di du la le bin ibn al el st ter');

/** The context lists a word is in, one bit per list (a word can be in several). */
const [TITLE, ROLE, LABEL, CONTACT, STOP_WORD, CREDENTIAL] = [1, 2, 4, 8, 16, 32] as const;
/** Titles, roles, labels, contact and stop words: the context of a name, never a name themselves. */
const ANY_CONTEXT = TITLE | ROLE | LABEL | CONTACT | STOP_WORD;
/** Every context list in one map: one look-up per word instead of six. */
const CONTEXT_KIND = new Map<string, number>();
for (const [set, bit] of [
  [TITLES, TITLE],
  [ROLES, ROLE],
  [LABELS, LABEL],
  [CONTACT_WORDS, CONTACT],
  [STOP, STOP_WORD],
  [CREDENTIALS, CREDENTIAL],
] as const) {
  for (const word of set) CONTEXT_KIND.set(word, (CONTEXT_KIND.get(word) ?? 0) | bit);
}

/** Which context lists a token's word is in (bits above), cached on the token. */
function kindOf(t: Token): number {
  if (t.context < 0) t.context = CONTEXT_KIND.get(t.key) ?? 0;
  return t.context;
}

/** Finds name tokens in a text with the given layers. */
export function findNames(text: string, layers: ReadonlySet<NameLayer>): NameFindings {
  const tokens = tokenize(text);
  const names = new Set<number>();
  const shouting = isShouting(tokens);
  const ctx: Ctx = { text, tokens, names, shouting, dashes: text.includes('--') };
  if (layers.has('context')) contextLayer(ctx);
  if (layers.has('dictionary')) dictionaryLayer(ctx);
  if (layers.has('heuristic')) heuristicLayer(ctx);
  if (layers.has('dictionary') || layers.has('heuristic') || layers.has('context')) spread(ctx);
  return { tokens, names, unclassified: countUnclassified(ctx) };
}

/**
 * Words no list classifies and capitals cannot vouch for: lower-case (or all-caps-text) words
 * that are neither English, clinical, a dictionary name nor a context word, and unknown short
 * acronyms. Whatever the layers did with them, each was a guess.
 */
function countUnclassified(ctx: Ctx): number {
  let n = 0;
  ctx.tokens.forEach((t, i) => {
    // A word token is letters (with inner hyphens and apostrophes) by construction.
    if (!isWord(t) || t.key.length < 2) return;
    const guessable =
      t.shape === 'lower' ||
      t.shape === 'mixed' ||
      ctx.shouting ||
      (t.shape === 'upper' && t.text.length <= 3);
    if (!guessable) return;
    if (isEnglish(t) || isRareEnglish(t) || (kindOf(t) & ANY_CONTEXT) !== 0 || isClinical(ctx.tokens, i))
      return;
    if (isDictionaryName(t) || ((kindOf(t) & CREDENTIAL) !== 0 && t.shape === 'upper')) return;
    n += 1;
  });
  return n;
}

interface Ctx {
  readonly text: string;
  readonly tokens: readonly Token[];
  readonly names: Set<number>;
  /** Most words are upper case: capitals say nothing. */
  readonly shouting: boolean;
  /** The text has a "--" (a signature may follow one). */
  readonly dashes: boolean;
}

function isShouting(tokens: readonly Token[]): boolean {
  let upper = 0;
  let all = 0;
  for (const t of tokens) {
    if (!isWord(t) || t.text.length < 2) continue;
    all += 1;
    if (t.shape === 'upper') upper += 1;
  }
  return all >= 4 && upper / all > 0.6;
}

/** Capitalised in a way that carries meaning (not sentence-initial, not in all-caps text). */
function capitalSignal(ctx: Ctx, t: Token): boolean {
  if (t.sentenceStart) return false;
  return t.shape === 'title' || (t.shape === 'upper' && !ctx.shouting);
}

function capitalised(t: Token): boolean {
  return t.shape === 'title' || t.shape === 'upper';
}

/** An initial: one capital letter, maybe with a dot after it. */
function isInitial(t: Token): boolean {
  return /^\p{Lu}$/u.test(t.text);
}

/** Text between two tokens. */
function gap(ctx: Ctx, a: Token, b: Token): string {
  return ctx.text.slice(a.end, b.start);
}

/** Whether token `i` can be part of a name that context announces. */
function nameLike(ctx: Ctx, i: number, strong: boolean, afterRole = false): boolean {
  const t = ctx.tokens[i];
  if (t === undefined || !isWord(t)) return t?.placeholder === 'NAME';
  if (
    (kindOf(t) & ANY_CONTEXT) !== 0 &&
    !(strong && capitalised(t) && isDictionaryName(t) && (kindOf(t) & TITLE) === 0)
  )
    return false;
  if ((kindOf(t) & CREDENTIAL) !== 0 && t.shape === 'upper') return false;
  if (isInitial(t)) return true;
  if (!strong && isClinical(ctx.tokens, i)) return false;
  if (capitalised(t)) return strong || !isEnglish(t) || isCommonName(t) || (afterRole && isDictionaryName(t));
  if (t.shape === 'mixed') return false;
  // Lower case: a dictionary name, or a word no list knows.
  if (isDictionaryName(t))
    return !isEnglish(t) || strong || nextIsName(ctx, i) || (afterRole && isGivenName(t));
  if (isRareEnglish(t)) return false;
  return !isEnglish(t) && !isClinical(ctx.tokens, i) && /^[\p{L}'-]+$/u.test(t.text) && t.key.length >= 2;
}

function nextIsName(ctx: Ctx, i: number): boolean {
  const next = ctx.tokens[i + 1];
  const t = ctx.tokens[i];
  if (next === undefined || t === undefined || !/^\s+$/.test(gap(ctx, t, next))) return false;
  return (
    isWord(next) &&
    isDictionaryName(next) &&
    (capitalised(next) || !isEnglish(next)) &&
    (kindOf(next) & ANY_CONTEXT) === 0 &&
    !isClinical(ctx.tokens, i + 1)
  );
}

/** Marks up to MAX_NAME_TOKENS name-like tokens from `from` on the same line. */
function takeNameAfter(ctx: Ctx, from: number, strong: boolean, afterRole = false): void {
  let taken = 0;
  for (let i = from; i < ctx.tokens.length && taken < MAX_NAME_TOKENS; i += 1) {
    const t = ctx.tokens[i];
    const prev = ctx.tokens[i - 1];
    if (t === undefined) break;
    if (taken > 0 && prev !== undefined) {
      const between = gap(ctx, prev, t);
      // A name goes on over spaces, a comma in "Smith, John", a hyphen, an initial's dot.
      if (!/^(?:\s*|\.\s*|,\s*|\s*-\s*)$/.test(between) || between.includes('\n')) break;
      if (between.startsWith('.') && !isInitial(prev)) break;
      const givenAfterComma = isGivenName(t) && (capitalised(t) || afterRole);
      if (between.includes(',') && !givenAfterComma && !(capitalised(t) && !isEnglish(t))) break;
    }
    if (!nameLike(ctx, i, strong, afterRole)) break;
    if (t.placeholder === undefined) ctx.names.add(i);
    taken += 1;
  }
}

function contextLayer(ctx: Ctx): void {
  const { tokens } = ctx;
  for (let i = 0; i < tokens.length; i += 1) {
    const t = tokens[i];
    if (t === undefined || !isWord(t)) continue;
    const next = tokens[i + 1];
    if (next === undefined) continue;
    const trigger = (kindOf(t) & (TITLE | ROLE | CONTACT | LABEL)) !== 0 || t.key === 'c';
    const before = (kindOf(next) & (CREDENTIAL | ROLE)) !== 0;
    if (!trigger && !before && !ctx.dashes) continue;
    const after = gap(ctx, t, next);
    if (after.includes('\n')) continue;
    if (
      (kindOf(t) & TITLE) !== 0 &&
      /^\.?\s+$|^\.$/.test(after) &&
      (t.shape === 'title' || t.key === 'dr' || (t.shape === 'upper' && ctx.shouting))
    ) {
      takeNameAfter(ctx, i + 1, true);
    } else if ((kindOf(t) & ROLE) !== 0 && /^\s*[,:(]?\s*(?:is\s+|named\s+)?$/.test(after)) {
      takeNameAfter(ctx, i + 1, false, true);
    } else if ((kindOf(t) & CONTACT) !== 0 && /^\s+$/.test(after)) {
      // "spoke with Hope", "called Mark Young", "signed by: Dr ..." (the title handles that).
      takeNameAfter(ctx, i + 1, false);
    } else if ((kindOf(t) & LABEL) !== 0 && /^\s*[:#-]\s*$/.test(after)) {
      // "Patient: Poling, grace": a name field; its words are names whatever their case.
      takeNameAfter(ctx, i + 1, false, true);
    } else if (t.key === 'c' && ctx.text.slice(t.end, t.end + 2) === '/o') {
      const j = tokens.findIndex((x, k) => k > i && x.start >= t.end + 2);
      if (j > 0) takeNameAfter(ctx, j, false);
    }
    // "-- Art Black": a signature after a dash.
    if (ctx.dashes && /(?:^|\n)\s*--+\s*$/.test(ctx.text.slice(tokens[i - 1]?.end ?? 0, t.start))) {
      takeNameAfter(ctx, i, false, true);
    }
    // "Hope Smith, RN" / "Hope Smith (daughter)": the name before a credential or a role.
    if (
      ((kindOf(next) & CREDENTIAL) !== 0 && next.shape === 'upper' && /^,?\s*$/.test(after)) ||
      ((kindOf(next) & ROLE) !== 0 && /^\s*[(,]\s*(?:(?:her|his|their|pt's|patient's)\s+)?$/.test(after))
    ) {
      markNameBefore(ctx, i);
    }
  }
  signatureLines(ctx);
}

/** Marks name-like capitalised tokens ending at `last`, going back on the same line. */
function markNameBefore(ctx: Ctx, last: number): void {
  for (let i = last, taken = 0; i >= 0 && taken < MAX_NAME_TOKENS; i -= 1, taken += 1) {
    const t = ctx.tokens[i];
    if (t === undefined || !isWord(t) || !(capitalised(t) || isDictionaryName(t))) break;
    if ((kindOf(t) & ANY_CONTEXT) !== 0 || isClinical(ctx.tokens, i)) break;
    ctx.names.add(i);
    const prev = ctx.tokens[i - 1];
    if (prev === undefined || !/^(?:\s+|\.\s*|\s*-\s*)$/.test(gap(ctx, prev, t))) break;
  }
}

/** A line of two to four capitalised words, maybe with a credential: a signature. */
function signatureLines(ctx: Ctx): void {
  const { tokens, text } = ctx;
  let lineStart = 0;
  // The next line break at or after the previous token's end (no slicing per token).
  let newline = text.indexOf('\n');
  for (let i = 0; i <= tokens.length; i += 1) {
    const t = tokens[i];
    const prevEnd = tokens[i - 1]?.end ?? 0;
    while (newline !== -1 && newline < prevEnd) newline = text.indexOf('\n', newline + 1);
    const endsLine = t === undefined || (i > lineStart && newline !== -1 && newline < t.start);
    if (!endsLine) continue;
    if (isSignatureLine(tokens, lineStart, i)) {
      for (let k = lineStart; k < i; k += 1) {
        const x = tokens[k];
        if (
          x !== undefined &&
          !((kindOf(x) & CREDENTIAL) !== 0 && x.shape === 'upper') &&
          !isClinical(tokens, k)
        )
          ctx.names.add(k);
      }
    }
    lineStart = i;
  }
}

/**
 * Whether tokens [from, to) are a signature line: at least one upper-case credential, and two to
 * four other words, all capitalised, none a stop word, one of them a dictionary name or no
 * English word. Counted in place: this runs for every line of every note.
 */
function isSignatureLine(tokens: readonly Token[], from: number, to: number): boolean {
  const credential = (x: Token): boolean => (kindOf(x) & CREDENTIAL) !== 0 && x.shape === 'upper';
  let credentials = 0;
  for (let k = from; k < to; k += 1) if (credential(tokens[k] as Token)) credentials += 1;
  const body = to - from - credentials;
  if (credentials === 0 || body < 2 || body > MAX_NAME_TOKENS) return false;
  let named = false;
  for (let k = from; k < to; k += 1) {
    const x = tokens[k] as Token;
    if (credential(x)) continue;
    if (!isWord(x) || !capitalised(x) || (kindOf(x) & STOP_WORD) !== 0) return false;
    named ||= isDictionaryName(x) || !isEnglish(x);
  }
  return named;
}

/** US state and territory codes: "Boston, MA" — an upper-case code is a place, not "Ma". */
const STATE_CODES = words(`AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE
  NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI`);

function dictionaryLayer(ctx: Ctx): void {
  const { tokens } = ctx;
  for (let i = 0; i < tokens.length; i += 1) {
    const t = tokens[i];
    if (t === undefined || !isWord(t) || ctx.names.has(i) || t.key.length < 2) continue;
    if (t.shape === 'upper' && STATE_CODES.has(t.text)) continue;
    if (!isDictionaryName(t) || isClinical(tokens, i) || (kindOf(t) & ANY_CONTEXT) !== 0) continue;
    if ((kindOf(t) & CREDENTIAL) !== 0 && t.shape === 'upper') continue;
    const next = tokens[i + 1];
    const prev = tokens[i - 1];
    if (!isEnglish(t)) {
      ctx.names.add(i);
    } else if (capitalSignal(ctx, t) && isCommonName(t)) {
      ctx.names.add(i);
    } else if (
      capitalised(t) &&
      isGivenName(t) &&
      next !== undefined &&
      capitalised(next) &&
      /^\s+$/.test(gap(ctx, t, next)) &&
      isDictionaryName(next) &&
      (kindOf(next) & ANY_CONTEXT) === 0 &&
      !isClinical(tokens, i + 1)
    ) {
      // "Will Pippin", "Hope Brake": a given name and a surname, both capitalised.
      ctx.names.add(i);
      ctx.names.add(i + 1);
    } else if (
      t.shape === 'title' &&
      /\(\s*$/.test(ctx.text.slice(prev?.end ?? 0, t.start)) &&
      /^\s*\)/.test(ctx.text.slice(t.end, next?.start ?? ctx.text.length))
    ) {
      // "(White)": a name-word alone in brackets.
      ctx.names.add(i);
    } else if (t.sentenceStart && capitalised(t) && isCommonName(t)) {
      const next = tokens[i + 1];
      if (next !== undefined && SPEECH_VERBS.has(next.key) && /^\s+$/.test(gap(ctx, t, next)))
        ctx.names.add(i);
    }
  }
}

function heuristicLayer(ctx: Ctx): void {
  const { tokens } = ctx;
  for (let i = 0; i < tokens.length; i += 1) {
    const t = tokens[i];
    if (t === undefined || !isWord(t) || ctx.names.has(i)) continue;
    if (t.key.length < 2) continue;
    if (t.shape === 'lower' && isRareEnglish(t)) continue;
    if (t.shape === 'mixed') continue;
    if (isEnglish(t) || (kindOf(t) & ANY_CONTEXT) !== 0 || isClinical(tokens, i) || isDictionaryName(t))
      continue;
    if ((kindOf(t) & CREDENTIAL) !== 0 && t.shape === 'upper') continue;
    // An unknown short acronym is more likely an abbreviation than a name: kept (but counted).
    if (t.shape === 'upper' && t.text.length <= 3) continue;
    ctx.names.add(i);
  }
}

/**
 * A capitalised name-word or an initial next to a name is a name too ("Will Brown", "Hope
 * O'Neil", "J. Quillon", "[NAME]-Smith"): repeated until nothing changes.
 */
function spread(ctx: Ctx): void {
  const { tokens, names } = ctx;
  const isName = (k: number): boolean => names.has(k) || tokens[k]?.placeholder === 'NAME';
  if (names.size === 0 && !tokens.some((t) => t.placeholder === 'NAME')) return;
  for (let changed = true; changed;) {
    changed = false;
    for (let i = 0; i < tokens.length; i += 1) {
      const t = tokens[i];
      // Only a neighbour of a name can become one: test that first, it is the cheap part.
      if (t === undefined || names.has(i) || !(isName(i - 1) || isName(i + 1))) continue;
      if (!isWord(t) || (kindOf(t) & ANY_CONTEXT) !== 0) continue;
      const prev = tokens[i - 1];
      if (isClinical(tokens, i)) {
        // "Haywood Parkinson (social work)": an eponym right after a given name, no disease word.
        const nx = tokens[i + 1];
        const surname =
          t.shape === 'title' &&
          isEponym(t.key) &&
          prev !== undefined &&
          names.has(i - 1) &&
          isGivenName(prev) &&
          /^\s+$/.test(gap(ctx, prev, t)) &&
          (nx === undefined || !isEponymHead(nx.key));
        if (!surname) continue;
        names.add(i);
        changed = true;
        continue;
      }
      if (t.shape === 'lower' && !SPEECH_VERBS.has(t.key)) {
        // "Faith rice": a lower-case surname right after a given name; "grace Rice": a lower-case
        // given name right before a name.
        const after = prev !== undefined && names.has(i - 1) && isGivenName(prev) && isDictionaryName(t);
        const nx = tokens[i + 1];
        const before = nx !== undefined && names.has(i + 1) && capitalised(nx) && isGivenName(t);
        if ((after && /^\s+$/.test(gap(ctx, prev, t))) || (before && /^\s+$/.test(gap(ctx, t, nx)))) {
          names.add(i);
          changed = true;
          continue;
        }
      }
      const nextTok = tokens[i + 1];
      if (
        PARTICLES.has(t.key) &&
        nextTok !== undefined &&
        names.has(i + 1) &&
        /^\s+$/.test(gap(ctx, t, nextTok))
      ) {
        names.add(i);
        changed = true;
        continue;
      }
      if (!(capitalised(t) || isInitial(t))) continue;
      if (!(isInitial(t) || isDictionaryName(t) || !isEnglish(t))) continue;
      // A sentence's first word beside a name is a name only if it is a given name ("Will Brown",
      // not "Later Will").
      if (t.sentenceStart && isEnglish(t) && !isGivenName(t)) continue;
      if ((kindOf(t) & CREDENTIAL) !== 0 && t.shape === 'upper') continue;
      const next = tokens[i + 1];
      // Joined by nothing, spaces or a hyphen; by a dot only after an initial ("J. Quillon").
      const joined = (a: Token, b: Token) =>
        /^(?:|\s+|\s*-\s*)$/.test(gap(ctx, a, b)) || (isInitial(a) && /^\.\s*$/.test(gap(ctx, a, b)));
      if (
        (prev !== undefined && isName(i - 1) && joined(prev, t)) ||
        (next !== undefined && isName(i + 1) && joined(t, next))
      ) {
        names.add(i);
        changed = true;
      }
    }
  }
}
