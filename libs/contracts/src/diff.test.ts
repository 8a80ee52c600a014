import { describe, expect, it } from 'vitest';
import { parseAvro } from './avro.ts';
import { evaluateCompatibility, type CompatibilityLevel } from './compatibility.ts';
import { breaksLevel, diffSchemas, type SchemaChange } from './diff.ts';

type Field = Record<string, unknown>;
const record = (fields: Field[]): Record<string, unknown> => ({
  type: 'record',
  name: 'Event',
  namespace: 'ehrflow.test',
  fields,
});
const V1: Field[] = [
  { name: 'id', type: 'string', phi: 'none' },
  { name: 'status', type: { type: 'enum', name: 'Status', symbols: ['open', 'closed'] }, phi: 'none' },
  { name: 'count', type: 'int', phi: 'none' },
  { name: 'note', type: ['null', 'string'], default: null, phi: 'free_text' },
  {
    name: 'counts',
    type: { type: 'record', name: 'Counts', fields: [{ name: 'read', type: 'long', phi: 'none' }] },
    phi: 'none',
  },
];
const v1 = record(V1);
const replace = (name: string, field: Field | undefined): Field[] =>
  V1.flatMap((f) => (f.name === name ? (field === undefined ? [] : [field]) : [f]));

/** Verdict of a change from v1 under a level, the way `check` judges it locally. */
const verdict = (next: unknown, level: CompatibilityLevel) =>
  evaluateCompatibility(parseAvro(next, 'next'), [{ version: 1, type: parseAvro(v1, 'v1') }], level);

const only = (changes: SchemaChange[]): SchemaChange => {
  expect(changes).toHaveLength(1);
  return changes[0] as SchemaChange;
};

describe('diffSchemas and local compatibility', () => {
  it('finds nothing between equal schemas', () => {
    expect(diffSchemas(v1, JSON.stringify(v1))).toEqual([]);
  });

  it('adding an optional field is compatible', () => {
    const next = record([...V1, { name: 'extra', type: ['null', 'string'], default: null, phi: 'none' }]);
    const c = only(diffSchemas(v1, next, { subject: 's-value' }));
    expect(c).toMatchObject({
      subject: 's-value',
      path: 'extra',
      change: 'added',
      newType: 'null | string',
      breaks: [],
    });
    expect(verdict(next, 'BACKWARD_TRANSITIVE').compatible).toBe(true);
    expect(verdict(next, 'FULL_TRANSITIVE').compatible).toBe(true);
  });

  it('adding a field without a default breaks BACKWARD, with the rule', () => {
    const next = record([...V1, { name: 'extra', type: 'string', phi: 'none' }]);
    const c = only(diffSchemas(v1, next));
    expect(c).toMatchObject({ path: 'extra', change: 'added', breaks: ['BACKWARD'] });
    expect(c.rule).toMatch(/^BACKWARD: a new field without a default/);
    const v = verdict(next, 'BACKWARD_TRANSITIVE');
    expect(v.compatible).toBe(false);
    expect(v.messages.join()).toMatch(/BACKWARD: the new schema cannot read data written with v1: .*extra/);
  });

  it('removing a required field breaks the contract at every level, though Avro BACKWARD allows it', () => {
    const next = record(replace('count', undefined));
    const c = only(diffSchemas(v1, next));
    expect(c).toMatchObject({
      path: 'count',
      change: 'removed',
      oldType: 'int',
      breaks: ['FORWARD', 'CONTRACT'],
    });
    expect(c.rule).toMatch(
      /^CONTRACT: the field is required by the contract and may not be removed \(FORWARD: /,
    );
    expect(breaksLevel(c, 'FULL_TRANSITIVE')).toBe(true);
    expect(breaksLevel(c, 'FORWARD')).toBe(true);
    expect(breaksLevel(c, 'BACKWARD_TRANSITIVE')).toBe(true);
    expect(breaksLevel(c, 'NONE')).toBe(true);
    const full = verdict(next, 'FULL_TRANSITIVE');
    expect(full.compatible).toBe(false);
    expect(full.messages.join()).toMatch(
      /FORWARD: readers on v1 cannot read data written with the new schema/,
    );
    expect(verdict(next, 'BACKWARD_TRANSITIVE').compatible).toBe(true);
  });

  it('removing a field that has a default is compatible both ways', () => {
    const next = record(replace('note', undefined));
    expect(only(diffSchemas(v1, next))).toMatchObject({ change: 'removed', breaks: [] });
    expect(verdict(next, 'FULL_TRANSITIVE').compatible).toBe(true);
  });

  it('changing string to int is incompatible both ways', () => {
    const next = record(replace('id', { name: 'id', type: 'int', phi: 'none' }));
    const c = only(diffSchemas(v1, next));
    expect(c).toMatchObject({ path: 'id', change: 'type_changed', oldType: 'string', newType: 'int' });
    expect(c.breaks).toEqual(['BACKWARD', 'FORWARD']);
    expect(c.rule).toMatch(/^BACKWARD and FORWARD/);
    expect(verdict(next, 'BACKWARD').compatible).toBe(false);
  });

  it('widening int to long is BACKWARD-compatible only', () => {
    const next = record(replace('count', { name: 'count', type: 'long', phi: 'none' }));
    const c = only(diffSchemas(v1, next));
    expect(c).toMatchObject({ change: 'type_changed', breaks: ['FORWARD'] });
    expect(verdict(next, 'BACKWARD_TRANSITIVE').compatible).toBe(true);
    expect(verdict(next, 'FULL').compatible).toBe(false);
  });

  it('reports enum symbols removed as a BACKWARD break and added as a FORWARD break', () => {
    const removed = record(
      replace('status', { name: 'status', type: { type: 'enum', name: 'Status', symbols: ['open'] } }),
    );
    const r = diffSchemas(v1, removed).find((c) => c.change === 'type_changed');
    expect(r).toMatchObject({ path: 'status', detail: 'symbols removed: closed', breaks: ['BACKWARD'] });
    const added = record(
      replace('status', {
        name: 'status',
        type: { type: 'enum', name: 'Status', symbols: ['open', 'closed', 'held'] },
      }),
    );
    const a = diffSchemas(v1, added).find((c) => c.change === 'type_changed');
    expect(a).toMatchObject({ detail: 'symbols added: held', breaks: ['FORWARD'] });
  });

  it('reports a change inside a nested record with its dotted path', () => {
    const next = record(
      replace('counts', {
        name: 'counts',
        type: { type: 'record', name: 'Counts', fields: [{ name: 'read', type: 'string', phi: 'none' }] },
        phi: 'none',
      }),
    );
    expect(only(diffSchemas(v1, next))).toMatchObject({
      path: 'counts.read',
      change: 'type_changed',
      newType: 'string',
    });
  });

  it('reports a removed default, which the transitive check then judges against older versions', () => {
    const next = record(replace('note', { name: 'note', type: ['null', 'string'], phi: 'free_text' }));
    const c = only(diffSchemas(v1, next));
    expect(c).toMatchObject({ path: 'note', change: 'default_removed', breaks: [] });
    // v0 had no `note`: a BACKWARD_TRANSITIVE reader without the default can no longer read it.
    const v0 = parseAvro(record(replace('note', undefined)), 'v0');
    const transitive = evaluateCompatibility(
      parseAvro(next, 'next'),
      [
        { version: 1, type: v0 },
        { version: 2, type: parseAvro(v1, 'v1') },
      ],
      'BACKWARD_TRANSITIVE',
    );
    expect(transitive.compatible).toBe(false);
    expect(transitive.messages.join()).toMatch(/v1/);
    expect(
      evaluateCompatibility(parseAvro(next, 'next'), [{ version: 2, type: parseAvro(v1, 'v1') }], 'BACKWARD')
        .compatible,
    ).toBe(true);
  });

  it('reports contract attribute changes, which Avro compatibility ignores', () => {
    const next = record(
      replace('note', { name: 'note', type: ['null', 'string'], default: null, phi: 'none' }),
    );
    const c = only(diffSchemas(v1, next));
    expect(c).toMatchObject({
      path: 'note',
      change: 'attribute_changed',
      detail: 'phi: "free_text" → "none"',
      breaks: [],
    });
  });

  it('NONE accepts anything', () => {
    expect(verdict(record([{ name: 'x', type: 'boolean' }]), 'NONE').compatible).toBe(true);
  });
});
