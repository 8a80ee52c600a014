import { describe, expect, it } from 'vitest';
import { EXIT, runCli } from './cli.ts';

async function run(argv: string[], env: Record<string, string> = {}) {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (t) => (out += t), err: (t) => (err += t), env });
  return { code, out, err };
}

describe('loader CLI', () => {
  it('prints usage without a command and help on every command', async () => {
    expect((await run([])).code).toBe(EXIT.usage);
    const help = await run(['--help']);
    expect([help.code, help.out]).toEqual([EXIT.ok, expect.stringContaining('reconcile')]);
    for (const command of ['reconcile', 'migrate']) {
      const h = await run([command, '--help']);
      expect(h.code).toBe(EXIT.ok);
      expect(h.out).toContain(`cli.ts ${command}`);
    }
  });

  it('refuses unknown commands, unknown options and a reconcile without --job', async () => {
    expect((await run(['load'])).code).toBe(EXIT.usage);
    expect((await run(['reconcile', '--jobb', 'x'])).code).toBe(EXIT.usage);
    const noJob = await run(['reconcile']);
    expect([noJob.code, noJob.err]).toEqual([
      EXIT.usage,
      expect.stringContaining('reconcile needs --job ID'),
    ]);
  });

  it('lists every invalid variable by name, never by value', async () => {
    const r = await run(['reconcile', '--job', 'j'], {
      SCHEMA_REGISTRY_URL: 'not a url secret-7731',
      LOADER_WRITE_MODE: 'fast',
    });
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toContain('KAFKA_BROKERS: is required');
    expect(r.err).toContain('DATABASE_URL: is required');
    expect(r.err).toContain('SCHEMA_REGISTRY_URL');
    expect(r.err).toContain('LOADER_WRITE_MODE: expected one of: staging, multirow');
    expect(r.err).not.toContain('secret-7731');
  });
});
