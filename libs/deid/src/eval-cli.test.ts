import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from './eval-cli.ts';

describe('deid:eval', () => {
  it('prints its help', () => {
    let out = '';
    expect(main(['--help'], (s) => (out += s))).toBe(0);
    expect(out).toContain('Usage: npm run deid:eval');
  });

  it('prints per-class figures for both splits and writes them as JSON', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'deid-eval-')), 'report.json');
    let out = '';
    const code = main(
      ['--notes', '120', '--heldout-notes', '120', '--no-layers', '--out', file],
      (s) => (out += s),
    );
    expect(code).toBe(0);
    expect(out).toMatch(/development split[\s\S]*NAME\s+\d+\s+\d+\.\d\d%[\s\S]*held-out split/);
    const report = JSON.parse(readFileSync(file, 'utf8')) as {
      dev: { notes: number };
      heldout: { classes: Record<string, unknown> };
    };
    expect(report.dev.notes).toBe(120);
    expect(Object.keys(report.heldout.classes)).toContain('SSN');
  });

  it('rejects a bad number', () => {
    expect(() => main(['--notes', 'many'])).toThrow(/--notes/);
  });
});
