import { describe, expect, it } from 'vitest';
import { PipelineError } from '@ehrflow/errors';
import { BUILT_IN_POLICIES, loadPolicy, parsePolicy, parseRule } from './policy.ts';

function problemOf(fn: () => unknown): PipelineError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PipelineError) return err;
    throw err;
  }
  throw new Error('expected a PipelineError');
}

describe('parseRule', () => {
  it('accepts the shorthand and the object form', () => {
    expect(parseRule('drop')).toEqual({ method: 'drop' });
    expect(parseRule({ method: 'hash', namespace: 'mrn' })).toEqual({ method: 'hash', namespace: 'mrn' });
    expect(parseRule({ method: 'generalize', to: 'zip3' })).toEqual({ method: 'generalize', to: 'zip3' });
  });

  it('names unknown methods and the expected ones', () => {
    expect(parseRule('redact')).toBe(
      'unknown method "redact" (expected one of drop, hash, dateShift, generalize, scrub, withhold, keep)',
    );
    expect(parseRule({})).toMatch(/unknown method missing/);
    expect(parseRule(42)).toMatch(/expected a method name/);
  });

  it('refuses parameters a method does not take, or bad values', () => {
    expect(parseRule({ method: 'drop', to: 'year' })).toMatch(/method drop: unknown key\(s\) to/);
    expect(parseRule({ method: 'generalize', to: 'decade' })).toMatch(
      /method generalize: to: expected one of year, birthYear, zip3, age/,
    );
    expect(parseRule({ method: 'dateShift', maxDays: 0 })).toMatch(/method dateShift: maxDays/);
  });
});

describe('parsePolicy', () => {
  it('lists every problem with contract and field', () => {
    const err = problemOf(() =>
      parsePolicy(
        {
          name: 'custom',
          version: '2',
          methodOverrides: { shred: 'drop', dateShift: 'blur' },
          contracts: { Patient: { nameFamily: 'erase', birthDate: { method: 'generalize', to: 'week' } } },
        },
        'custom.json',
      ),
    );
    expect(err.code).toBe('POLICY_INVALID');
    expect(err.message).toContain('de-identification policy custom (custom.json) is invalid');
    expect(err.message).toContain('methodOverrides: unknown method "shred"');
    expect(err.message).toContain('methodOverrides.dateShift: unknown method "blur"');
    expect(err.message).toContain('contract Patient field nameFamily: unknown method "erase"');
    expect(err.message).toContain('contract Patient field birthDate: method generalize: to: expected one of');
    expect(err.context.problems).toBe(4);
  });

  it('refuses a policy without name, version or contracts', () => {
    const err = problemOf(() => parsePolicy({ contracts: {} }, 'x.json'));
    expect(err.message).toMatch(/name: expected string/);
    expect(err.message).toMatch(/version: expected string/);
  });

  it('defaults to no PHI in clear', () => {
    const p = parsePolicy({ name: 'p', version: '1', contracts: {} }, 'p');
    expect(p.allowPhiInClear).toBe(false);
    expect(p.dateShiftMaxDays).toBe(365);
  });
});

describe('loadPolicy', () => {
  it.each(BUILT_IN_POLICIES)('loads built-in %s', (name) => {
    const p = loadPolicy(name);
    expect(p.name).toBe(name);
    expect(p.version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('turns Safe Harbor dates into years and lets the limited data set keep them', () => {
    expect(loadPolicy('safe-harbor').methodOverrides.dateShift).toEqual({ method: 'generalize', to: 'year' });
    expect(loadPolicy('safe-harbor').allowPhiInClear).toBe(false);
    expect(loadPolicy('limited-data-set').methodOverrides.dateShift).toEqual({ method: 'keep' });
    expect(loadPolicy('limited-data-set').allowPhiInClear).toBe(true);
  });

  it('says which file is missing', () => {
    const err = problemOf(() => loadPolicy('/nonexistent/policy.json'));
    expect(err.code).toBe('POLICY_INVALID');
    expect(err.message).toContain('cannot read /nonexistent/policy.json');
  });
});
