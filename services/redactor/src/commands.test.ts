import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { EXIT, runCli } from './commands.ts';
import { TEST_TYPES, contractJson, fakeRegistry } from './testing/fixtures.ts';

const run = promisify(execFile);

function io(registry = withValidSubjects()) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t), env: {}, registry },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

function withValidSubjects() {
  const fake = fakeRegistry();
  for (const type of TEST_TYPES) fake.add(`ehr.valid.${type}-value`, contractJson(type));
  return fake.registry;
}

const TYPES = ['--types', TEST_TYPES.join(',')];

describe('redactor cli', () => {
  it('registers the clean schemas, then reports them unchanged', async () => {
    const registry = withValidSubjects();
    const first = io(registry);
    expect(await runCli(['register-schemas', ...TYPES], first.io)).toBe(EXIT.ok);
    expect(first.out()).toContain('policy safe-harbor 1.0.0');
    expect(first.out()).toContain('registered ehr.clean.Patient-value v1');
    const second = io(registry);
    expect(await runCli(['register-schemas', ...TYPES], second.io)).toBe(EXIT.ok);
    expect(second.out()).toContain('unchanged  ehr.clean.Patient-value v1');
    expect(first.out()).toContain('registered ehr.valid.deletions-value v1');
    expect(first.out()).toContain('registered ehr.clean.deletions-value v1');
    expect(second.out()).toContain('unchanged  ehr.clean.deletions-value v1');
    expect((await registry.latest('ehr.clean.deletions-value')).text).toBe(
      (await registry.latest('ehr.valid.deletions-value')).text,
    );
    expect((await registry.latest('ehr.clean.Observation-value')).text).toContain(
      '"deidPolicy":"safe-harbor"',
    );
  });

  it('honours prefixes and --dry-run', async () => {
    const fake = fakeRegistry();
    fake.add('t1.valid.Patient-value', contractJson('Patient'));
    const c = io(fake.registry);
    const args = [
      'register-schemas',
      '--types',
      'Patient',
      '--valid-prefix',
      't1.valid.',
      '--clean-prefix',
      't1.clean.',
      '--dry-run',
    ];
    expect(await runCli(args, c.io)).toBe(EXIT.ok);
    expect(c.out()).toBe(
      [
        'would register t1.clean.Patient-value (from t1.valid.Patient-value v1)',
        'would register t1.valid.deletions-value (from schemas/pipeline/deletion.avsc)',
        'would register t1.clean.deletions-value (from schemas/pipeline/deletion.avsc)',
        '',
      ].join('\n'),
    );
    await expect(fake.registry.latest('t1.valid.deletions-value')).rejects.toMatchObject({
      code: 'SCHEMA_NOT_REGISTERED',
    });
    await expect(fake.registry.latest('t1.clean.Patient-value')).rejects.toMatchObject({
      code: 'SCHEMA_NOT_REGISTERED',
    });
  });

  it('explains the rule of every field', async () => {
    const c = io();
    expect(await runCli(['explain', ...TYPES, '--policy', 'limited-data-set'], c.io)).toBe(EXIT.ok);
    expect(c.out()).toMatch(/Patient\s+birthDate\s+direct\s+keep\s+policy-field/);
    expect(c.out()).toMatch(
      /Observation\s+noteText\s+free_text\s+scrub\s+maxResidualRisk=8 layers=patterns,known,context,dictionary,heuristic\s+contract/,
    );
    expect(c.out()).toContain('scrub layers: patterns');
    expect(c.out()).toMatch(/Observation\s+issued\s+direct\s+keep\s+policy-method/);
  });

  it('fails with a clear message on a bad policy file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'redactor-policy-'));
    const file = join(dir, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'bad',
        version: '1',
        contracts: { Patient: { nameFamily: 'blur', dateOfBirth: 'drop' } },
      }),
    );
    const c = io();
    expect(await runCli(['register-schemas', ...TYPES, '--policy', file], c.io)).toBe(EXIT.failed);
    expect(c.err()).toContain('POLICY_INVALID: de-identification policy bad');
    expect(c.err()).toContain(
      'contract Patient field nameFamily: unknown method "blur" (expected one of drop, hash, dateShift, generalize, scrub, withhold, keep)',
    );

    writeFileSync(
      file,
      JSON.stringify({ name: 'bad', version: '1', contracts: { Patient: { dateOfBirth: 'drop' } } }),
    );
    const d = io();
    expect(await runCli(['register-schemas', ...TYPES, '--policy', file], d.io)).toBe(EXIT.failed);
    expect(d.err()).toContain('contract Patient field dateOfBirth: no such top-level field in the contract');
  });

  it('answers usage errors with exit 2', async () => {
    expect(await runCli(['frobnicate'], io().io)).toBe(EXIT.usage);
    expect(await runCli([], io().io)).toBe(EXIT.usage);
    expect(await runCli(['register-schemas', '--nope'], io().io)).toBe(EXIT.usage);
    const h = io();
    expect(await runCli(['--help'], h.io)).toBe(EXIT.ok);
    expect(h.out()).toContain('register-schemas');
  });

  it('main.ts and cli.ts print help and exit 0; main.ts without configuration exits 78 naming variables', async () => {
    const node = process.execPath;
    const main = new URL('./main.ts', import.meta.url).pathname;
    const cli = new URL('./cli.ts', import.meta.url).pathname;
    const help = await run(node, [main, '--help']);
    expect(help.stdout).toContain('Usage: node services/redactor/src/main.ts');
    expect((await run(node, [cli, '--help'])).stdout).toContain('register-schemas');
    const failed = await run(node, [main], { env: { PATH: process.env.PATH } }).catch(
      (e: unknown) => e as { code: number; stderr: string },
    );
    expect(failed).toMatchObject({ code: 78 });
    expect((failed as { stderr: string }).stderr).toMatch(
      /KAFKA_BROKERS[\s\S]*PHI_KEYRING[\s\S]*PSEUDONYM_KEY/,
    );
  });
});
