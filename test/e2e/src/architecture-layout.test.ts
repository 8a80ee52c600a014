import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '@ehrflow/testing';
import { describe, expect, it } from 'vitest';

// The picture of docs/architecture.md ("Layout as built") must be the tree: every project of
// libs/, services/, tools/, test/ and deploy/ once, with its layer (the `type:` tag) and exactly
// the workspace packages its package.json depends on.

interface Row {
  readonly layer: string;
  readonly uses: readonly string[];
}

function documented(): Map<string, Row> {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'architecture.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Layout as built'));
  const start = section.indexOf('```\n') + 4;
  const block = section.slice(start, section.indexOf('\n```', start));
  const rows = new Map<string, Row>();
  for (const line of block.split('\n')) {
    const match = /^((?:libs|services|tools|test)\/[a-z0-9-]+|deploy)\s+([a-z]+)\s+← (.*)$/.exec(line);
    if (match === null) continue;
    const [, project = '', layer = '', uses = ''] = match;
    expect(rows.has(project), `${project} listed twice`).toBe(false);
    rows.set(project, { layer, uses: uses.trim() === '—' ? [] : uses.trim().split(/\s+/) });
  }
  return rows;
}

function actual(): Map<string, Row> {
  const rows = new Map<string, Row>();
  const projects = ['libs', 'services', 'tools', 'test']
    .flatMap((root) =>
      readdirSync(join(REPO_ROOT, root), { withFileTypes: true })
        .filter((d) => d.isDirectory() && existsSync(join(REPO_ROOT, root, d.name, 'package.json')))
        .map((d) => `${root}/${d.name}`),
    )
    .concat('deploy');
  for (const project of projects) {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, project, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      nx?: { tags?: string[] };
    };
    const layer = pkg.nx?.tags?.find((t) => t.startsWith('type:'))?.slice('type:'.length) ?? '(no type tag)';
    const uses = Object.keys(pkg.dependencies ?? {})
      .filter((name) => name.startsWith('@ehrflow/'))
      .map((name) => name.slice('@ehrflow/'.length))
      .sort();
    rows.set(project, { layer, uses });
  }
  return rows;
}

describe('docs/architecture.md layout', () => {
  it('lists every project once, with its layer and exactly its workspace dependencies', () => {
    const doc = documented();
    const tree = actual();
    expect([...doc.keys()].sort()).toEqual([...tree.keys()].sort());
    for (const [project, row] of tree) {
      const listed = doc.get(project);
      expect({ project, layer: listed?.layer, uses: [...(listed?.uses ?? [])].sort() }).toEqual({
        project,
        ...row,
      });
    }
  });
});
