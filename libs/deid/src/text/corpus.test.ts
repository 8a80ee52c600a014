import { describe, expect, it } from 'vitest';
import { isDictionaryName } from './name-lexicon.ts';
import { IDENTIFIER_CLASSES, generateCorpus } from './corpus.ts';
import { evaluate } from './evaluate.ts';
import { ALL_TEXT_LAYERS } from './text-deidentifier.ts';

describe('evaluation corpus', () => {
  it('is reproducible from its seed and differs between seeds', () => {
    const a = generateCorpus({ seed: 7, notes: 20, split: 'dev' });
    expect(generateCorpus({ seed: 7, notes: 20, split: 'dev' })).toEqual(a);
    expect(generateCorpus({ seed: 8, notes: 20, split: 'dev' })).not.toEqual(a);
  });

  it('annotates spans that lie inside the text, for every identifier class and clinical words', () => {
    const notes = [
      ...generateCorpus({ seed: 1, notes: 400, split: 'dev' }),
      ...generateCorpus({ seed: 2, notes: 400, split: 'heldout' }),
    ];
    const classes = new Set(notes.flatMap((n) => n.spans.map((s) => s.cls)));
    for (const cls of [...IDENTIFIER_CLASSES, 'KEEP']) expect(classes).toContain(cls);
    for (const note of notes) {
      for (const span of note.spans) {
        expect(span.end).toBeGreaterThan(span.start);
        expect(note.text.slice(span.start, span.end).trim()).not.toBe('');
      }
    }
  });

  it('holds names no dictionary knows, hyphenated, apostrophe, all-caps and lower-case names', () => {
    const names = generateCorpus({ seed: 3, notes: 400, split: 'heldout' }).flatMap((n) =>
      n.spans.filter((s) => s.cls === 'NAME').map((s) => n.text.slice(s.start, s.end)),
    );
    expect(names.some((n) => !isDictionaryName(n.toLowerCase()))).toBe(true);
    expect(names.some((n) => n.includes('-'))).toBe(true);
    expect(names.some((n) => n.includes("'"))).toBe(true);
    expect(names.some((n) => n.length > 2 && n === n.toUpperCase())).toBe(true);
    expect(names.some((n) => n === n.toLowerCase())).toBe(true);
  });
});

describe('evaluate', () => {
  const notes = generateCorpus({ seed: 4, notes: 150, split: 'heldout' });

  it('scores a detector that removes nothing at zero recall', () => {
    const result = evaluate(notes, new Set());
    expect(result.classes.NAME.recall).toBe(0);
    expect(result.overall.found).toBe(0);
    expect(result.keepRemoved).toBe(0);
  });

  it('scores the full detector with token recall, precision and clinical words kept', () => {
    const result = evaluate(notes, ALL_TEXT_LAYERS);
    expect(result.classes.NAME.gold).toBeGreaterThan(300);
    expect(result.classes.NAME.recall).toBeGreaterThan(0.98);
    expect(result.classes.NAME.precision).toBeGreaterThan(0.9);
    expect(result.keepRemovedRate).toBeLessThan(0.02);
  });
});
