import { readFileSync } from 'node:fs';
import { format, resolveConfig } from 'prettier';
import { describe, expect, it } from 'vitest';
import { loadSchemaSet, type SchemaSet } from './load.ts';
import { GENERATED_GROUPS, generateTypes, generatedFilePath } from './typegen.ts';
import { parseAvro } from './avro.ts';
import { contractOf } from './contract.ts';

describe('generated types', () => {
  const set = loadSchemaSet();

  for (const group of GENERATED_GROUPS) {
    it(`src/generated/${group}.ts is up to date with schemas/${group} (run \`npm run schemas -- gen\`)`, () => {
      expect(readFileSync(generatedFilePath(group), 'utf8')).toBe(generateTypes(set, group));
    });

    it(`src/generated/${group}.ts is already formatted`, async () => {
      const text = generateTypes(set, group);
      const config = (await resolveConfig(generatedFilePath(group))) ?? {};
      expect(await format(text, { ...config, filepath: generatedFilePath(group) })).toBe(text);
    });
  }

  it('maps Avro shapes to TypeScript', () => {
    const json = {
      type: 'record',
      name: 'Shapes',
      namespace: 'ehrflow.test',
      doc: 'All the shapes.',
      fields: [
        { name: 'a', type: { type: 'array', items: ['null', 'string'] }, doc: 'nullable items' },
        { name: 'm', type: { type: 'map', values: 'long' } },
        { name: 'b', type: 'bytes' },
        { name: 'f', type: 'boolean' },
        {
          name: 'u',
          type: [
            'null',
            { type: 'record', name: 'Q', fields: [{ name: 'v', type: 'double' }] },
            { type: 'record', name: 'R', fields: [] },
          ],
        },
        { name: 'e', type: { type: 'enum', name: 'E', symbols: ['X', 'Y'] } },
      ],
    };
    const file = {
      group: 'test',
      file: 'test/shapes.avsc',
      path: '/x',
      json,
      type: parseAvro(json, 'shapes'),
      name: 'ehrflow.test.Shapes',
      canonical: JSON.stringify(json),
      contract: contractOf(json),
    };
    const fake: SchemaSet = {
      dir: '/x',
      files: [file],
      subjects: [{ subject: 'shapes-value', compatibility: 'BACKWARD', schema: file }],
      unmapped: [],
      subject: () => {
        throw new Error('unused');
      },
    };
    const out = generateTypes(fake, 'test');
    expect(out).toContain('/** All the shapes. */\nexport interface Shapes {');
    expect(out).toContain('  /** nullable items */\n  readonly a: readonly (string | null)[];');
    expect(out).toContain('  readonly m: Readonly<Record<string, number>>;');
    expect(out).toContain('  readonly b: Buffer;');
    expect(out).toContain('  readonly f: boolean;');
    expect(out).toContain(
      "  readonly u: null | { readonly 'ehrflow.test.Q': Q } | { readonly 'ehrflow.test.R': R };",
    );
    expect(out).toContain("export type E = 'X' | 'Y';");
    expect(out).toContain("export interface TestSubjectValues {\n  'shapes-value': Shapes;\n}");
  });
});
