import { describe, expect, it } from 'vitest';
import { parseAvro } from './avro.ts';
import { describeProblems, findValueProblems } from './validate.ts';

const type = parseAvro(
  {
    type: 'record',
    name: 'Obs',
    fields: [
      { name: 'codes', type: { type: 'array', items: 'string' } },
      {
        name: 'value',
        type: [
          'null',
          { type: 'record', name: 'Quantity', fields: [{ name: 'unit', type: 'string' }] },
          { type: 'record', name: 'Range', fields: [{ name: 'low', type: 'double' }] },
        ],
        default: null,
      },
      {
        name: 'byKey',
        type: {
          type: 'map',
          values: { type: 'record', name: 'Entry', fields: [{ name: 'n', type: 'int' }] },
        },
      },
    ],
  },
  'obs',
);

describe('findValueProblems', () => {
  it('accepts a valid value', () => {
    expect(findValueProblems(type, { codes: ['a'], value: { Quantity: { unit: 'mg' } }, byKey: {} })).toEqual(
      [],
    );
  });

  it('gives array indexes, steps through wrapped union branches and hides map keys', () => {
    const problems = findValueProblems(type, {
      codes: ['a', 3],
      value: { Quantity: { unit: 4 } },
      byKey: { 'secret-key': { n: 'x' } },
    });
    expect(problems.map((p) => `${p.path}=${p.expected}/${p.actual}`)).toEqual([
      'codes[1]=string/number',
      'value.unit=string/number',
      'byKey[*].n=int/string',
    ]);
    expect(describeProblems(problems)).not.toContain('secret-key');
  });

  it('reports a wrong record shape at the record and bounds the description', () => {
    const problems = findValueProblems(type, 'not a record');
    expect(problems).toEqual([{ path: '', problem: 'invalid', expected: 'record Obs', actual: 'string' }]);
    const many = Array.from({ length: 8 }, (_, i) => ({
      path: `f${i}`,
      problem: 'invalid' as const,
      expected: 'int',
      actual: 'string',
    }));
    expect(describeProblems(many)).toMatch(/f4: expected int, got string; and 3 more$/);
  });
});
