import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT, runCli, type CliIo } from './cli.ts';

function io(env: Record<string, string | undefined> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const cli: CliIo = { out: (t) => out.push(t), err: (t) => err.push(t), env };
  return { cli, out: () => out.join('\n'), err: () => err.join('\n') };
}

const UNREACHABLE = { SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1/apis/ccompat/v7' };

describe('schema CLI (no registry needed)', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('prints usage: exit 2 without a command, 0 with --help, 2 for an unknown command or option', async () => {
    const none = io();
    expect(await runCli([], none.cli)).toBe(EXIT.usage);
    expect(none.out()).toContain('usage: npm run schemas -- <command>');
    expect(await runCli(['--help'], io().cli)).toBe(EXIT.ok);
    expect(await runCli(['frobnicate'], io().cli)).toBe(EXIT.usage);
    const bad = io();
    expect(await runCli(['check', '--nope'], bad.cli)).toBe(EXIT.usage);
    expect(bad.err()).toContain("Unknown option '--nope'");
  });

  it('has --help for every command', async () => {
    for (const cmd of ['check', 'register', 'list', 'diff', 'gen']) {
      const h = io();
      expect(await runCli([cmd, '--help'], h.cli)).toBe(EXIT.ok);
      expect(h.out()).toContain(`usage: npm run schemas -- ${cmd}`);
    }
  });

  it('diff without --subject and an unknown subject are usage errors', async () => {
    expect(await runCli(['diff'], io(UNREACHABLE).cli)).toBe(EXIT.usage);
    const unknown = io(UNREACHABLE);
    expect(await runCli(['check', '--subject', 'ehr.nope-value'], unknown.cli)).toBe(EXIT.usage);
    expect(unknown.err()).toContain('unknown subject ehr.nope-value; known: ehr.raw-value');
  });

  it('check --offline parses the repository schemas', async () => {
    const r = io();
    expect(await runCli(['check', '--offline'], r.cli)).toBe(EXIT.ok);
    expect(r.out()).toMatch(/parsed \d+ schema file\(s\)/);
  });

  it('gen --check passes on the committed generated types', async () => {
    const r = io();
    expect(await runCli(['gen', '--check'], r.cli)).toBe(EXIT.ok);
    expect(r.out()).toContain('pipeline.ts: up to date');
  });

  it('exits 1 naming the file when a schema does not parse', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ehrflow-cli-'));
    mkdirSync(join(dir, 'g'));
    writeFileSync(join(dir, 'subjects.json'), JSON.stringify({ subjects: {} }));
    writeFileSync(
      join(dir, 'g', 'bad.avsc'),
      JSON.stringify({ type: 'record', name: 'B', fields: [{ name: 'x', type: 'nope' }] }),
    );
    const r = io();
    expect(await runCli(['check', '--offline', '--dir', dir], r.cli)).toBe(EXIT.invalid);
    expect(r.err()).toContain('SCHEMA_INVALID: g/bad.avsc: invalid Avro schema: undefined type name: nope');
  });

  it('exits 3 with a clear message and no stack trace when the registry is unreachable', async () => {
    for (const cmd of ['check', 'register', 'list']) {
      const r = io(UNREACHABLE);
      expect(await runCli([cmd], r.cli), cmd).toBe(EXIT.unreachable);
      expect(r.err(), cmd).toMatch(
        /schema registry unreachable at http:\/\/127\.0\.0\.1:1\/apis\/ccompat\/v7 \(ECONNREFUSED\)/,
      );
      expect(r.err(), cmd).not.toMatch(/\n\s+at /);
    }
  });
});
