import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERRORS_DOC_PATH, renderErrorsDoc } from './doc.ts';
import { ERROR_CATALOG, PipelineError, isProgrammerError, isRetryable } from './index.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');

/** Production source files: libs and services, without tests, test helpers and benchmarks. */
function productionSources(): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!['node_modules', 'dist', 'testing'].includes(entry.name)) walk(path);
      } else if (
        entry.name.endsWith('.ts') &&
        !/\.(test|fixture)\.ts$/.test(entry.name) &&
        !/^(testing|bench.*)\.ts$/.test(entry.name)
      ) {
        out.push({ path: relative(ROOT, path), text: readFileSync(path, 'utf8') });
      }
    }
  };
  for (const top of ['libs', 'services']) {
    for (const project of readdirSync(join(ROOT, top), { withFileTypes: true })) {
      if (project.isDirectory() && !(top === 'libs' && project.name === 'errors'))
        walk(join(ROOT, top, project.name, 'src'));
    }
  }
  return out;
}

describe('error catalog', () => {
  it('every code is raised somewhere in production code (a code only the catalog names is dead)', () => {
    const sources = productionSources();
    const unraised = Object.keys(ERROR_CATALOG).filter(
      (code) => !sources.some((s) => s.text.includes(`'${code}'`) || s.text.includes(`"${code}"`)),
    );
    expect(unraised).toEqual([]);
  });

  it('every code is documented in docs/errors.md, which is the catalog rendered (npm run errors:doc)', () => {
    const committed = readFileSync(join(ROOT, ERRORS_DOC_PATH), 'utf8');
    for (const code of Object.keys(ERROR_CATALOG)) expect(committed, code).toContain(`| \`${code}\` |`);
    expect(committed).toBe(renderErrorsDoc());
  });

  it('gives every code an error status that fits its class', () => {
    for (const [code, entry] of Object.entries(ERROR_CATALOG)) {
      expect(entry.httpStatus, code).toBeGreaterThanOrEqual(400);
      expect(entry.httpStatus, code).toBeLessThanOrEqual(599);
      if (entry.errorClass === 'contract') expect(entry.httpStatus, code).toBeLessThan(500);
      if (entry.errorClass === 'transient') expect(entry.httpStatus, code).toBe(503);
    }
    expect(new PipelineError('JOB_STATE_CONFLICT', 'x').httpStatus).toBe(409);
  });

  it('derives retryability from the class of failure', () => {
    expect(new PipelineError('HTTP_TRANSIENT', 'x').retryable).toBe(true);
    expect(new PipelineError('RATE_LIMITED', 'x', { retryAfterMs: 5 }).retryAfterMs).toBe(5);
    expect(new PipelineError('AUTH_REJECTED', 'x').retryable).toBe(false);
    expect(new PipelineError('MISSING_REQUIRED', 'x').errorClass).toBe('contract');
    expect(isRetryable(new PipelineError('KAFKA_UNAVAILABLE', 'x'))).toBe(true);
    expect(isRetryable(new Error('plain'))).toBe(false);
  });

  it('never treats programmer errors as retryable', () => {
    expect(isProgrammerError(new TypeError('x'))).toBe(true);
    expect(isRetryable(new TypeError('x'))).toBe(false);
  });

  it('keeps the cause chain', () => {
    const cause = new Error('inner');
    expect(new PipelineError('PARSE_ERROR', 'outer', { cause }).cause).toBe(cause);
  });
});
