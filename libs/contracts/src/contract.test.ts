import { describe, expect, it } from 'vitest';
import { contractOf, isPhi, toContractPath } from './contract.ts';

const schema = {
  type: 'record',
  name: 'Person',
  namespace: 'ehrflow.test',
  policy: 'strict',
  owner: 'team-a',
  fields: [
    { name: 'id', type: 'string', phi: 'none', required: true, fillRate: 1 },
    {
      name: 'birthDate',
      type: ['null', 'string'],
      default: null,
      phi: 'quasi',
      deid: 'date_shift',
      fhirPath: 'Patient.birthDate',
    },
    { name: 'note', type: ['null', 'string'], default: null },
    { name: 'count', type: 'int', default: 0, phi: 'none', unit: 'records' },
    {
      name: 'names',
      type: {
        type: 'array',
        items: {
          type: 'record',
          name: 'Name',
          fields: [
            { name: 'family', type: 'string', phi: 'direct', deid: 'drop' },
            { name: 'use', type: 'string', phi: 'none' },
          ],
        },
      },
    },
    {
      name: 'meta',
      type: { type: 'record', name: 'Meta', fields: [{ name: 'source', type: 'string', phi: 'none' }] },
    },
    { name: 'otherName', type: ['null', 'Name'], default: null, phi: 'none' },
  ],
};

describe('contractOf', () => {
  const contract = contractOf(schema, 'person.avsc');
  const field = (path: string) => {
    const f = contract.fields.find((x) => x.path === path);
    if (f === undefined) throw new Error(`no field ${path}`);
    return f;
  };

  it('reads the record name, policy and record attributes', () => {
    expect(contract.name).toBe('ehrflow.test.Person');
    expect(contract.policy).toBe('strict');
    expect(contract.attrs).toEqual({ policy: 'strict', owner: 'team-a' });
  });

  it('exposes the known attributes typed and every attribute raw', () => {
    expect(field('birthDate')).toMatchObject({
      avroType: 'string',
      nullable: true,
      hasDefault: true,
      phi: 'quasi',
      phiClass: 'quasi',
      deid: 'date_shift',
      fhirPath: 'Patient.birthDate',
      required: false,
    });
    expect(field('id')).toMatchObject({ required: true, fillRate: 1, nullable: false });
    expect(field('count').attrs).toEqual({ phi: 'none', unit: 'records' });
    expect(field('count').required).toBe(false); // defaulted, so a writer may leave it out
  });

  it('treats a field without a phi attribute as PHI (default-deny)', () => {
    expect(field('note').phi).toBeUndefined();
    expect(field('note').phiClass).toBe('unclassified');
    expect(isPhi(field('note'))).toBe(true);
    expect(isPhi(field('id'))).toBe(false);
  });

  it('walks nested records with dotted paths, [] for array items', () => {
    expect(contract.fields.map((f) => f.path)).toEqual([
      'id',
      'birthDate',
      'note',
      'count',
      'names',
      'names[].family',
      'names[].use',
      'meta',
      'meta.source',
      'otherName',
      'otherName.family',
      'otherName.use',
    ]);
    expect(field('names').avroType).toBe('array<record Name>');
  });

  it('classifies an unannotated container by its most sensitive sub-field; its own attribute wins', () => {
    expect(field('names').phiClass).toBe('direct');
    expect(field('meta').phiClass).toBe('none');
    expect(field('otherName').phiClass).toBe('none');
  });

  it('rejects a bad attribute, naming the schema, field path and attribute', () => {
    const bad = { ...schema, fields: [{ name: 'x', type: 'string', phi: 'secret' }] };
    expect(() => contractOf(bad, 'bad.avsc')).toThrow(
      /bad\.avsc: field x: attribute phi: expected one of none, direct/,
    );
    const rate = { ...schema, fields: [{ name: 'x', type: 'string', phi: 'none', fillRate: 2 }] };
    expect(() => contractOf(rate, 'rate.avsc')).toThrow(/field x: attribute fillRate: must be at most 1/);
    const policy = { ...schema, policy: 'loose' };
    expect(() => contractOf(policy, 'p.avsc')).toThrow(/p\.avsc: field \(record\): attribute policy/);
  });

  it('accepts schema text and refuses a non-record', () => {
    expect(contractOf(JSON.stringify(schema)).fields).toHaveLength(12);
    expect(() => contractOf('"string"', 'prim.avsc')).toThrow(/prim\.avsc: a contract must be a record/);
  });

  it('stops at a recursive type instead of looping', () => {
    const tree = {
      type: 'record',
      name: 'Node',
      fields: [
        { name: 'label', type: 'string', phi: 'none' },
        { name: 'children', type: { type: 'array', items: 'Node' } },
      ],
    };
    const c = contractOf(tree);
    expect(c.fields.map((f) => f.path)).toEqual(['label', 'children']);
    expect(c.fields[1]?.phiClass).toBe('unclassified');
  });

  it('maps value paths to contract paths', () => {
    expect(toContractPath('names[2].given[0]')).toBe('names[].given[]');
    expect(toContractPath('tags[*].code')).toBe('tags{}.code');
  });
});
