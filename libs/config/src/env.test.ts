import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PipelineError } from '@ehrflow/errors';
import { ConfigError, loadConfig, port, z } from './index.ts';

const schema = z.object({
  DB_PASSWORD: z.string().min(8),
  HTTP_PORT: port(8080),
  MODE: z.enum(['a', 'b']),
});

/** Distinct canaries, one per variable, so a leak says which variable leaked. */
const CANARY = {
  DB_PASSWORD: 'cnry-pw',
  API_TOKEN: 'cnry-token-zz',
  PORT: '99999',
  WORKERS: 'cnry-workers',
  MODE: 'cnry-mode',
  URL: 'cnry url with spaces',
  TIMEOUT: '-1234567',
  TAG: 'cnry-TAG',
  BROKERS: ' , , ',
} as const;

function tempFile(content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ehrflow-cfg-'));
  const file = join(dir, 'secret');
  writeFileSync(file, content);
  return file;
}

function problemsOf(fn: () => unknown): ConfigError['problems'] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('returns typed values with defaults applied', () => {
    expect(loadConfig(schema, { DB_PASSWORD: 'long-enough', MODE: 'b' })).toEqual({
      DB_PASSWORD: 'long-enough',
      HTTP_PORT: 8080,
      MODE: 'b',
    });
  });

  it('lists every invalid variable at once, each with why, and no value', () => {
    const wide = z.object({
      DB_PASSWORD: z.string().min(8),
      API_TOKEN: z.string().max(5),
      MISSING_SECRET: z.string().min(1),
      HTTP_PORT: port(8080),
      WORKERS: z.coerce.number().int(),
      MODE: z.enum(['a', 'b']),
      REGISTRY_URL: z.url(),
      TIMEOUT_MS: z.coerce.number().int().positive(),
      TAG: z.string().regex(/^[a-z]+$/),
      BROKERS: z
        .string()
        .transform((s) => s.split(',').filter((x) => x.trim() !== ''))
        .pipe(z.array(z.string()).min(1)),
      REGION: z.string().refine((v) => v.startsWith('eu-'), { message: 'must be an EU region' }),
    });
    let caught: unknown;
    try {
      loadConfig(wide, {
        DB_PASSWORD: CANARY.DB_PASSWORD,
        API_TOKEN: CANARY.API_TOKEN,
        HTTP_PORT: CANARY.PORT,
        WORKERS: CANARY.WORKERS,
        MODE: CANARY.MODE,
        REGISTRY_URL: CANARY.URL,
        TIMEOUT_MS: CANARY.TIMEOUT,
        TAG: CANARY.TAG,
        BROKERS: CANARY.BROKERS,
        REGION: 'us-east-1',
      });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect(caught).toBeInstanceOf(PipelineError);
    const error = caught as ConfigError;
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.problems).toEqual([
      { variable: 'DB_PASSWORD', reason: 'must be at least 8 characters' },
      { variable: 'API_TOKEN', reason: 'must be at most 5 characters' },
      { variable: 'MISSING_SECRET', reason: 'is required' },
      { variable: 'HTTP_PORT', reason: 'must be at most 65535' },
      { variable: 'WORKERS', reason: 'must be a number' },
      { variable: 'MODE', reason: 'expected one of: a, b' },
      { variable: 'REGISTRY_URL', reason: 'must be a valid url' },
      { variable: 'TIMEOUT_MS', reason: 'must be greater than 0' },
      { variable: 'TAG', reason: 'must match /^[a-z]+$/' },
      { variable: 'BROKERS', reason: 'must be at least 1 item(s)' },
      { variable: 'REGION', reason: 'must be an EU region' },
    ]);
    expect(error.message).toContain('11 problem(s)');
    const everything = JSON.stringify(error.problems) + error.message + JSON.stringify(error.context);
    for (const value of Object.values(CANARY).filter((v) => v.trim() !== ''))
      expect(everything).not.toContain(value);
  });

  it('reads a secret from a *_FILE variable, trimming the trailing newline', () => {
    const file = tempFile('correct-horse\n');
    expect(loadConfig(schema, { DB_PASSWORD_FILE: file, MODE: 'a' })).toEqual({
      DB_PASSWORD: 'correct-horse',
      HTTP_PORT: 8080,
      MODE: 'a',
    });
  });

  it('validates a secret read from a file like an inline one, without printing it', () => {
    const file = tempFile(`${CANARY.DB_PASSWORD}\n`);
    const problems = problemsOf(() => loadConfig(schema, { DB_PASSWORD_FILE: file, MODE: 'a' }));
    expect(problems).toEqual([{ variable: 'DB_PASSWORD', reason: 'must be at least 8 characters' }]);
    expect(JSON.stringify(problems)).not.toContain(CANARY.DB_PASSWORD);
  });

  it('refuses both NAME and NAME_FILE, an unreadable file and an empty file, reporting each once', () => {
    const file = tempFile('long-enough-secret');
    expect(
      problemsOf(() => loadConfig(schema, { DB_PASSWORD: 'long-enough', DB_PASSWORD_FILE: file, MODE: 'a' })),
    ).toEqual([
      { variable: 'DB_PASSWORD_FILE', reason: 'both DB_PASSWORD and DB_PASSWORD_FILE are set; set only one' },
    ]);
    expect(
      problemsOf(() => loadConfig(schema, { DB_PASSWORD_FILE: '/nonexistent/ehrflow/x', MODE: 'a' })),
    ).toEqual([{ variable: 'DB_PASSWORD_FILE', reason: 'cannot read the file it names (ENOENT)' }]);
    expect(problemsOf(() => loadConfig(schema, { DB_PASSWORD_FILE: tempFile('\n'), MODE: 'a' }))).toEqual([
      { variable: 'DB_PASSWORD_FILE', reason: 'names an empty file' },
    ]);
  });

  it('ignores *_FILE variables the schema does not declare', () => {
    const cfg = loadConfig(schema, {
      DB_PASSWORD: 'long-enough',
      MODE: 'a',
      KUBECONFIG_FILE: '/nonexistent/x',
    });
    expect(cfg).not.toHaveProperty('KUBECONFIG');
  });

  it('treats an empty or blank variable as unset', () => {
    expect(loadConfig(schema, { DB_PASSWORD: 'long-enough', MODE: 'a', HTTP_PORT: '' }).HTTP_PORT).toBe(8080);
    expect(problemsOf(() => loadConfig(schema, { DB_PASSWORD: '   ', MODE: 'a' }))).toEqual([
      { variable: 'DB_PASSWORD', reason: 'is required' },
    ]);
  });
});

const FIXTURE = fileURLToPath(new URL('./config-exit.fixture.ts', import.meta.url));

/** Runs the fixture entry point with exactly `env` (plus PATH), bounded in time. */
function runFixture(
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FIXTURE], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('fixture did not exit within 10 s'));
    }, 10_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('loadConfigOrExit (child process)', () => {
  it('exits 78 with one line per invalid variable, no values and no stack trace', async () => {
    const secretFile = tempFile(`${CANARY.DB_PASSWORD}\n`);
    const result = await runFixture({
      DB_PASSWORD_FILE: secretFile,
      HTTP_PORT: CANARY.PORT,
      MODE: CANARY.MODE,
    });
    expect(result.code).toBe(78);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')).toEqual([
      'fixture-svc: invalid configuration',
      '  DB_PASSWORD: must be at least 12 characters',
      '  API_TOKEN: is required',
      '  HTTP_PORT: must be at most 65535',
      '  MODE: expected one of: development, production',
      '',
    ]);
    expect(result.stderr).not.toMatch(/^\s+at /m);
    for (const value of [CANARY.DB_PASSWORD, CANARY.PORT, CANARY.MODE])
      expect(result.stderr).not.toContain(value);
  });

  it('returns the config and runs on when it is valid', async () => {
    const result = await runFixture({
      DB_PASSWORD_FILE: tempFile('a-long-enough-password\n'),
      API_TOKEN: 'tkn',
      MODE: 'production',
    });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ ok: true, port: 8080, mode: 'production' });
  });
});
