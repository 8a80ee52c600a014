#!/usr/bin/env node
// Keeps TypeScript project references in step with the workspace dependencies declared in each
// package.json: a project's tsconfig.json references exactly the workspace projects it depends on
// (dependencies and devDependencies), and the root tsconfig.json references every project.
// `--fix` rewrites the tsconfig files; without it, a difference is listed and the exit code is 1.
// Written here because `nx sync` keeps references only through the @nx/js TypeScript plugin,
// which this workspace does not use (its projects are inferred from package.json files).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(`Usage: node scripts/check-references.mjs [--fix]

Checks that every workspace project's tsconfig.json references the workspace projects its
package.json depends on (and no others), and that the root tsconfig.json references every project.
  --fix   rewrite the references instead of failing`);
  process.exit(0);
}
const fix = args.includes('--fix');

const rootPackage = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
/** Workspace projects by package name: { dir (relative to the root), manifest }. */
const projects = new Map();
for (const pattern of rootPackage.workspaces) {
  const dirs = pattern.endsWith('/*')
    ? listDirs(pattern.slice(0, -2)).map((d) => `${pattern.slice(0, -2)}/${d}`)
    : [pattern];
  for (const dir of dirs) {
    const manifest = join(root, dir, 'package.json');
    if (!existsSync(manifest) || !existsSync(join(root, dir, 'tsconfig.json'))) continue;
    projects.set(JSON.parse(readFileSync(manifest, 'utf8')).name, dir);
  }
}

const problems = [];
for (const [name, dir] of projects) {
  const manifest = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
  const deps = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies }).filter((d) =>
    projects.has(d),
  );
  const want = deps.map((d) => relative(join(root, dir), join(root, projects.get(d)))).sort();
  const tsconfigPath = join(root, dir, 'tsconfig.json');
  const tsconfig = JSON.parse(readFileSync(tsconfigPath, 'utf8'));
  const have = (tsconfig.references ?? []).map((r) => r.path).sort();
  if (JSON.stringify(want) === JSON.stringify(have)) continue;
  const missing = want.filter((p) => !have.includes(p));
  const extra = have.filter((p) => !want.includes(p));
  problems.push(
    `${dir}/tsconfig.json (${name}): missing [${missing.join(', ')}], not declared [${extra.join(', ')}]`,
  );
  if (fix) {
    if (want.length > 0) tsconfig.references = want.map((path) => ({ path }));
    else delete tsconfig.references;
    await writeJson(tsconfigPath, tsconfig);
  }
}

const rootTsconfigPath = join(root, 'tsconfig.json');
const rootTsconfig = JSON.parse(readFileSync(rootTsconfigPath, 'utf8'));
const rootWant = [...projects.values()].sort();
const rootHave = (rootTsconfig.references ?? []).map((r) => r.path).sort();
if (JSON.stringify(rootWant) !== JSON.stringify(rootHave)) {
  problems.push(`tsconfig.json: references [${rootHave.join(', ')}], projects [${rootWant.join(', ')}]`);
  if (fix) {
    rootTsconfig.references = rootWant.map((path) => ({ path }));
    await writeJson(rootTsconfigPath, rootTsconfig);
  }
}

for (const p of problems) console.log(`${fix ? 'fixed' : 'out of step'}: ${p}`);
if (problems.length > 0 && !fix) {
  console.log('Run `npm run references -- --fix` to rewrite them from the package.json files.');
  process.exit(1);
}

function listDirs(dir) {
  if (!existsSync(join(root, dir))) return [];
  return readdirSync(join(root, dir), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

/** Writes JSON formatted as the repository's prettier configuration would (so format:check holds). */
async function writeJson(path, value) {
  const options = (await prettier.resolveConfig(path)) ?? {};
  writeFileSync(path, await prettier.format(JSON.stringify(value), { ...options, filepath: path }));
}
