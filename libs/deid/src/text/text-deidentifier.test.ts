import { describe, expect, it } from 'vitest';
import { compileKnownIdentifiers } from '../known-identifiers.ts';
import { ALL_TEXT_LAYERS, TEXT_LAYERS, deidentifyText, type TextLayer } from './text-deidentifier.ts';

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
});
