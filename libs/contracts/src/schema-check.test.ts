import { describe, expect, it } from 'vitest';
import { canonicalText, parseAvro } from './avro.ts';
import type { CompatibilityLevel } from './compatibility.ts';
import { contractOf } from './contract.ts';
import type { SubjectSchema } from './load.ts';
import type { RegisteredSchema, SchemaRegistry } from './registry.ts';
import { checkSubject, registerSubject } from './schema-check.ts';

const base = {
  type: 'record',
  name: 'E',
  namespace: 'ehrflow.test',
  fields: [{ name: 'id', type: 'string', phi: 'none' }],
};
const withExtra = (extra: Record<string, unknown>) => ({ ...base, fields: [...base.fields, extra] });

function entry(json: unknown, compatibility: CompatibilityLevel = 'BACKWARD_TRANSITIVE'): SubjectSchema {
  return {
    subject: 'e-value',
    compatibility,
    schema: {
      group: 'g',
      file: 'g/e.avsc',
      path: '/g/e.avsc',
      json,
      type: parseAvro(json, 'e'),
      name: 'ehrflow.test.E',
      canonical: canonicalText(json),
      contract: contractOf(json),
    },
  };
}

/** Registry stand-in: one subject with given versions, a level and a scripted compatibility answer. */
function fake(versions: unknown[], level: CompatibilityLevel, registryCompatible: boolean) {
  const calls: string[] = [];
  const stored: RegisteredSchema[] = versions.map((json, i) => ({
    subject: 'e-value',
    version: i + 1,
    id: 100 + i,
    text: canonicalText(json),
    schema: parseAvro(json, 'v'),
  }));
  let currentLevel = level;
  const registry = {
    url: 'fake://',
    versions: () => Promise.resolve(stored.map((s) => s.version)),
    version: (_s: string, v: number) => Promise.resolve(stored[v - 1] as RegisteredSchema),
    checkCompatibility: () => Promise.resolve({ compatible: registryCompatible, messages: [] }),
    getCompatibility: () => Promise.resolve(currentLevel),
    setCompatibility: (_s: string, l: CompatibilityLevel) => {
      calls.push(`set ${l}`);
      currentLevel = l;
      return Promise.resolve();
    },
    register: (_s: string, text: string) => {
      calls.push(`register ${text}`);
      return Promise.resolve({ id: 200, version: stored.length + 1 });
    },
  } as unknown as SchemaRegistry;
  return { registry, calls };
}

describe('checkSubject', () => {
  it('says new for a subject without versions', async () => {
    const r = await checkSubject(fake([], 'BACKWARD_TRANSITIVE', true).registry, entry(base));
    expect(r).toMatchObject({ status: 'new', compatible: true, latest: undefined });
  });

  it('says unchanged when the latest version is the file, whatever the key order', async () => {
    const reordered = { fields: base.fields, namespace: base.namespace, name: base.name, type: base.type };
    const r = await checkSubject(fake([reordered], 'BACKWARD_TRANSITIVE', true).registry, entry(base));
    expect(r).toMatchObject({ status: 'unchanged', latest: { version: 1, id: 100 } });
  });

  it('lets the registry decide under the manifest level and notes a disagreement', async () => {
    const next = withExtra({ name: 'x', type: 'string', phi: 'none' }); // breaks BACKWARD locally
    const r = await checkSubject(fake([base], 'BACKWARD_TRANSITIVE', true).registry, entry(next));
    expect(r.status).toBe('changed');
    expect(r.local.compatible).toBe(false);
    expect(r.compatible).toBe(true);
    expect(r.notes.join()).toContain('the registry decides');
    expect(r.changes.map((c) => `${c.path}:${c.change}`)).toEqual(['x:added']);
  });

  it('judges locally when the registry level differs from the manifest', async () => {
    const next = withExtra({ name: 'x', type: 'string', phi: 'none' });
    const r = await checkSubject(fake([base], 'NONE', true).registry, entry(next));
    expect(r.compatible).toBe(false);
    expect(r.notes.join()).toContain('registry level is NONE, manifest level is BACKWARD_TRANSITIVE');
  });
});

describe('registerSubject', () => {
  const next = withExtra({ name: 'x', type: ['null', 'string'], default: null, phi: 'none' });

  it('sets the manifest level, then registers the canonical text', async () => {
    const f = fake([base], 'NONE', true);
    const o = await registerSubject(f.registry, entry(next));
    expect(o).toMatchObject({
      action: 'registered',
      version: 2,
      id: 200,
      levelChange: { from: 'NONE', to: 'BACKWARD_TRANSITIVE' },
    });
    expect(f.calls).toEqual(['set BACKWARD_TRANSITIVE', `register ${canonicalText(next)}`]);
  });

  it('is idempotent and changes nothing in a dry run', async () => {
    const same = fake([base], 'BACKWARD_TRANSITIVE', true);
    expect(await registerSubject(same.registry, entry(base))).toMatchObject({
      action: 'unchanged',
      version: 1,
      id: 100,
    });
    expect(same.calls).toEqual([]);
    const dry = fake([base], 'NONE', true);
    expect(await registerSubject(dry.registry, entry(next), { dryRun: true })).toMatchObject({
      action: 'would_register',
    });
    expect(dry.calls).toEqual([]);
  });
});
