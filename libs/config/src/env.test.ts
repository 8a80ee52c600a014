import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, port, z } from './index.ts';

const schema = z.object({
  DB_PASSWORD: z.string().min(8),
  HTTP_PORT: port(8080),
  MODE: z.enum(['a', 'b']),
});

describe('loadConfig', () => {
  it('reads a secret from a *_FILE variable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'pw');
    writeFileSync(file, 'correct-horse\n');
    const cfg = loadConfig(schema, { DB_PASSWORD_FILE: file, MODE: 'a' });
    expect(cfg).toEqual({ DB_PASSWORD: 'correct-horse', HTTP_PORT: 8080, MODE: 'a' });
  });

  it('lists every invalid variable at once, without echoing values', () => {
    const secret = 'short7x';
    let caught: unknown;
    try {
      loadConfig(schema, { DB_PASSWORD: secret, HTTP_PORT: '99999', MODE: 'zzz-canary' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const problems = (caught as ConfigError).problems;
    expect(problems.map((p) => p.variable).sort()).toEqual(['DB_PASSWORD', 'HTTP_PORT', 'MODE']);
    const text = JSON.stringify(problems) + (caught as Error).message;
    expect(text).not.toContain(secret);
    expect(text).not.toContain('zzz-canary');
  });

  it('reports a missing variable as required', () => {
    expect(() => loadConfig(schema, { MODE: 'a' })).toThrow(/DB_PASSWORD/);
    try {
      loadConfig(schema, { MODE: 'a' });
    } catch (err) {
      expect((err as ConfigError).problems).toEqual([{ variable: 'DB_PASSWORD', reason: 'is required' }]);
    }
  });

  it('refuses both NAME and NAME_FILE, and an unreadable file', () => {
    try {
      loadConfig(schema, { DB_PASSWORD: 'xxxxxxxxx', DB_PASSWORD_FILE: '/nonexistent', MODE: 'a' });
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).problems[0]?.reason).toMatch(/set only one/);
    }
    try {
      loadConfig(schema, { DB_PASSWORD_FILE: '/nonexistent/x', MODE: 'a' });
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).problems.map((p) => p.reason).join()).toMatch(/ENOENT/);
    }
  });
});
