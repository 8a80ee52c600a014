import { describe, expect, it } from 'vitest';
import { NAME_LAYERS, findNames, type NameLayer } from './name-detector.ts';

/** The name tokens a set of layers finds, as text. */
function names(text: string, layers: readonly NameLayer[]): string[] {
  const found = findNames(text, new Set(layers));
  return [...found.names].sort((a, b) => a - b).map((i) => found.tokens[i]?.text ?? '');
}

const ALL = NAME_LAYERS;
const without = (layer: NameLayer): NameLayer[] => ALL.filter((l) => l !== layer);

describe('name layers', () => {
  describe('context', () => {
    // English words as names, found only because of what surrounds them.
    const text = 'Seen by Dr. Quarry today. His daughter Hope visited. Signed: Gravel Bell, RN';

    it('finds names after titles, roles and labels, and before credentials', () => {
      expect(names(text, ['context'])).toEqual(['Quarry', 'Hope', 'Gravel', 'Bell']);
    });

    it('is the only layer that finds them', () => {
      expect(names(text, without('context'))).not.toContain('Quarry');
      expect(names(text, without('context'))).not.toContain('Gravel');
    });

    it('takes a signature line: a credential and two to four capitalised words, no more, no less', () => {
      expect(names('Plan agreed.\nRN Gravel Quarry', ['context'])).toEqual(['Gravel', 'Quarry']);
      expect(names('Plan agreed.\nRN Gravel Quarry Stone Field', ['context'])).toEqual([
        'Gravel',
        'Quarry',
        'Stone',
        'Field',
      ]);
      expect(names('Plan agreed.\nGravel Quarry', ['context'])).toEqual([]);
      expect(names('Plan agreed.\nMD Gravel', ['context'])).toEqual([]);
      expect(names('Plan agreed.\nRN Gravel Quarry Stone Field Bank', ['context'])).toEqual([]);
    });

    it('takes a clinical word after a title but not after a weaker context', () => {
      expect(names('Referred to Dr. Parkinson.', ['context'])).toEqual(['Parkinson']);
      expect(names('Discussed with Glasgow team.', ['context'])).toEqual([]);
    });
  });

  describe('dictionary', () => {
    // Census names that are no English words, in any case and position, with no context.
    const text = 'nguyen and GARCIA came by; Okafor too. Brown stool noted.';

    it('finds census names that are not English words, in any case', () => {
      expect(names(text, ['dictionary'])).toEqual(['nguyen', 'GARCIA', 'Okafor']);
    });

    it('is the only layer that finds lower-case ones', () => {
      expect(names(text, without('dictionary'))).not.toContain('nguyen');
    });

    it('takes a word-name only with capitals inside a sentence or beside a surname', () => {
      expect(names('Bill paid. Later Will Pippin and Rose arrived.', ['dictionary'])).toEqual([
        'Will',
        'Pippin',
        'Rose',
      ]);
      expect(names('Will call back; hope to see improvement.', ['dictionary'])).toEqual([]);
    });
  });

  describe('heuristic', () => {
    // Invented names: in no dictionary, no English list; only capitals give them away.
    const text = 'Pt reviewed with Zarvekisson; Quillondra agrees.';

    it('finds capitalised words no list knows', () => {
      expect(names(text, ['heuristic'])).toEqual(['Zarvekisson', 'Quillondra']);
    });

    it('is the only layer that finds an unknown name without context', () => {
      expect(names(text, without('heuristic'))).not.toContain('Quillondra');
    });

    it('keeps clinical vocabulary, abbreviations and mixed-case units', () => {
      expect(
        names('Crohn flare; Eliquis held; Hb 9.1 g/dL; NSTEMI ruled out; hepatosplenomegaly.', ['heuristic']),
      ).toEqual([]);
    });
  });

  it('spreads from a name to its neighbours: initials, particles, glued placeholders', () => {
    expect(names('Message from J. Zarvekisson and van Okafor.', ALL)).toEqual([
      'J',
      'Zarvekisson',
      'van',
      'Okafor',
    ]);
    expect(names('Called [NAME]-Young.', ALL)).toEqual(['Young']);
  });

  it('keeps eponyms followed by a clinical head word, not a surname after a given name', () => {
    expect(names('Wilson disease excluded; Murphy sign positive.', ALL)).toEqual([]);
    expect(names('Interpreter Haywood Parkinson present.', ALL)).toEqual(['Haywood', 'Parkinson']);
  });

  it('counts words it can only guess about as residual risk', () => {
    expect(findNames('Pt stable, discharged home.', new Set(ALL)).unclassified).toBe(0);
    expect(findNames('pt seen by quorvath and zelbrin', new Set(ALL)).unclassified).toBe(2);
  });
});
