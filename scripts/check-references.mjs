#!/usr/bin/env node
// Keeps TypeScript project references in step with the workspace dependencies declared in each
// package.json: a project's tsconfig.json references exactly the workspace projects it depends on
// (dependencies and devDependencies), and the root tsconfig.json references every project.
// `--fix` rewrites the tsconfig files; without it, a difference is listed and the exit code is 1.
// It also checks the other direction, which knip does not (it reports undeclared npm packages, not
// undeclared workspace packages): every `@ehrflow/*` package a project's source imports is
// declared in its package.json — in `dependencies` for production code, in either list for tests
// and `src/testing/` helpers. An undeclared import is not fixed, only listed.
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

const undeclared = [];
for (const [name, dir] of projects) {
  const manifest = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
  for (const file of sourceFiles(join(root, dir))) {
    const path = relative(root, file);
    const test = /\.(test|fixture)\.ts$/.test(path) || /\/src\/testing(\/|\.ts$)/.test(path);
    const declared = { ...manifest.dependencies, ...(test ? manifest.devDependencies : {}) };
    const text = readFileSync(file, 'utf8');
    for (const [, used] of text.matchAll(/(?:from|import\()\s*['"](@ehrflow\/[a-z0-9-]+)/g)) {
      if (used !== name && projects.has(used) && declared[used] === undefined)
        undeclared.push(
          `${path} imports ${used}, which ${dir}/package.json does not declare${test ? '' : ' in dependencies'}`,
        );
    }
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
for (const u of new Set(undeclared)) console.log(`undeclared: ${u}`);
if (problems.length > 0 && !fix)
  console.log('Run `npm run references -- --fix` to rewrite them from the package.json files.');
if (undeclared.length > 0)
  console.log('Declare each imported workspace package in the importing package.json.');
if ((problems.length > 0 && !fix) || undeclared.length > 0) process.exit(1);

/** The .ts files of a project, node_modules and build output left out. */
function sourceFiles(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath, e.name))
    .filter((f) => !/[\\/](node_modules|dist)[\\/]/.test(relative(dir, f)));
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
