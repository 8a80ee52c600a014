import { describe, expect, it } from 'vitest';
import { CIRCULAR, OMITTED_OBJECT, scrubDeep } from './scrub-deep.ts';

describe('scrubDeep', () => {
  it('scrubs every string in objects and arrays and returns a copy', () => {
    const input = {
      id: 'rec',
      notes: ['SSN 123-45-6789', { dob: '1961-03-03' }],
      count: 3,
      ok: true,
      none: null,
    };
    const out = scrubDeep(input);
    expect(out).toEqual({
      id: 'rec',
      notes: ['SSN [SSN]', { dob: '[DATE]' }],
      count: 3,
      ok: true,
      none: null,
    });
    expect(out).not.toBe(input);
    expect(input.notes[0]).toBe('SSN 123-45-6789');
  });

  it('scrubs keys, Maps, Sets, Dates, bigints and errors; drops functions and symbols', () => {
    const out = scrubDeep({
      'jane@canary.test': 1,
      map: new Map([['k', 'MRN 1234567']]),
      set: new Set(['555-123-4567']),
      when: new Date('1961-03-03T00:00:00Z'),
      big: 12345678901n,
      err: new TypeError('bad SSN 123-45-6789'),
      fn: () => 1,
      sym: Symbol('x'),
      bin: Buffer.from('Jane Canary'),
    });
    expect(out).toEqual({
      '[EMAIL]': 1,
      map: [['k', 'MRN [ID]']],
      set: ['[PHONE]'],
      when: '[DATE]',
      big: '[ID]',
      err: { type: 'TypeError', message: 'bad SSN [SSN]' },
      bin: '[binary 11 bytes]',
    });
  });

  it('is cycle-safe without calling shared references circular', () => {
    const shared = { v: 'x' };
    const node: Record<string, unknown> = { a: shared, b: shared };
    node.self = node;
    expect(scrubDeep(node)).toEqual({ a: { v: 'x' }, b: { v: 'x' }, self: CIRCULAR });
  });

  it('limits depth and array length', () => {
    const deep = { l1: { l2: { l3: { secret: 'x' } } } };
    expect(scrubDeep(deep, { maxDepth: 2 })).toEqual({ l1: { l2: OMITTED_OBJECT } });
    expect(scrubDeep([1, 2, 3, 4], { maxArrayLength: 2 })).toEqual([1, 2, '[+2 more]']);
  });

  it('honours omitKey, mapError, custom scrub and getters that throw', () => {
    const input = {
      name: 'Jane',
      keep: 'Canary',
      err: new Error('boom'),
      get bad(): string {
        throw new Error('no');
      },
    };
    const out = scrubDeep(input, {
      omitKey: (key) => key === 'name',
      mapError: (err) => ({ only: err.constructor.name }),
      scrub: (text) => text.replace('Canary', '[REDACTED]'),
    });
    expect(out).toEqual({ keep: '[REDACTED]', err: { only: 'Error' }, bad: '[unreadable]' });
  });
});
