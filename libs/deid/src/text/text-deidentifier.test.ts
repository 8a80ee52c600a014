import { describe, expect, it } from 'vitest';
import { compileKnownIdentifiers } from '../known-identifiers.ts';
import { generateCorpus } from './corpus.ts';
import {
  ALL_TEXT_LAYERS,
  TEXT_LAYERS,
  deidentifyText,
  deidentifyWithLayers,
  type TextLayer,
} from './text-deidentifier.ts';

const known = compileKnownIdentifiers([
  ['NAME', 'Teodora'],
  ['NAME', 'Bell'],
  ['ID', '88123'],
]);
const without = (layer: TextLayer): Set<TextLayer> => new Set(TEXT_LAYERS.filter((l) => l !== layer));

describe('deidentifyText', () => {
  it('patterns: identifiers of any shape, gone only with the pattern layer on', () => {
    const text = 'call 617-555-0100, mail a.b@example.org, SSN 123-45-6789';
    expect(deidentifyText(text, known).text).toBe('call [PHONE], mail [EMAIL], SSN [SSN]');
    expect(deidentifyText(text, known, without('patterns')).text).toContain('617-555-0100');
  });

  it('known: the patient identifiers in any case and spacing, lower-case English-looking ones included', () => {
    const text = 'bell ok, ref 88123';
    expect(deidentifyText(text, known).text).toBe('[NAME] ok, ref [ID]');
    expect(deidentifyText(text, known, without('known')).text).toContain('bell');
  });

  it('names: one placeholder per run, the possessive kept', () => {
    expect(deidentifyText("Called Hope Quillaver's mother.", known, ALL_TEXT_LAYERS).text).toBe(
      "Called [NAME]'s mother.",
    );
  });

  it('an e-mail holding a name goes whole, before the name layers see it', () => {
    expect(deidentifyText('from mark.young@example.org', known).text).toBe('from [EMAIL]');
  });

  it('returns the residual risk of the value', () => {
    expect(deidentifyText('stable overnight', known).residualRisk).toBe(0);
    expect(deidentifyText('seen by zorvath with quelbrin', known).residualRisk).toBe(2);
  });

  it('memoised: every corpus note gives what the uncached steps give, also when served from memory', () => {
    const notes = [
      ...generateCorpus({ seed: 11, notes: 300, split: 'dev' }),
      ...generateCorpus({ seed: 12, notes: 300, split: 'heldout' }),
    ];
    const matchers = notes.map((n) => compileKnownIdentifiers(n.known));
    // Pass 2 sees every text again (from the memos); pass 3 with another patient's identifiers,
    // so a kept result must not carry the first patient's known-identifier matches.
    for (const shift of [0, 0, 1]) {
      notes.forEach((note, k) => {
        const known = matchers[(k + shift) % matchers.length] ?? compileKnownIdentifiers([]);
        const expected = deidentifyWithLayers(note.text, known, new Set(TEXT_LAYERS));
        expect(deidentifyText(note.text, known)).toEqual(expected);
      });
    }
  });

  it('memoised: a recurring text still loses the identifiers of each record it comes with', () => {
    const text = 'Quillaver called; Teodora Bell seen, ref 88123.';
    const other = compileKnownIdentifiers([['NAME', 'Quillaver']]);
    expect(deidentifyText(text, known).text).toBe('[NAME] called; [NAME] [NAME] seen, ref [ID].');
    // 88123 is this record's identifier only; the names go by the name layers here.
    expect(deidentifyText(text, other).text).toBe('[NAME] called; [NAME] seen, ref 88123.');
    expect(deidentifyText(text, known).text).toBe('[NAME] called; [NAME] [NAME] seen, ref [ID].');
  });
});
