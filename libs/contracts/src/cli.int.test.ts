import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_REGISTRY_URL } from './cli.ts';
import { createCodec } from './codec.ts';
import { loadSchemaSet } from './load.ts';
import { createRegistry } from './registry.ts';
import type { RawEnvelope } from './generated/pipeline.ts';

const CLI = join(import.meta.dirname, 'cli.ts');
const url = process.env.SCHEMA_REGISTRY_URL ?? DEFAULT_REGISTRY_URL;
const registry = createRegistry({ url });
const run = randomUUID().slice(0, 8);
const subjects: string[] = [];
let dir: string;

/** Runs the CLI as `npm run schemas` does: a separate node process; resolves with its exit code and output. */
function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args, '--dir', dir],
      { env: { ...process.env, SCHEMA_REGISTRY_URL: url, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const payment = (fields: Record<string, unknown>[]) =>
  JSON.stringify({
    type: 'record',
    name: 'Payment',
    namespace: 'ehrflow.test',
    doc: 'A test record.',
    fields,
  });
const ID = { name: 'id', type: 'string', doc: 'id', phi: 'none' };
const AMOUNT = { name: 'amount', type: 'string', doc: 'amount', phi: 'none' };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ehrflow-cli-int-'));
  mkdirSync(join(dir, 'test'));
  mkdirSync(join(dir, 'pipeline'));
  const repo = loadSchemaSet();
  const manifest: Record<string, { file: string }> = {};
  const paymentSubject = `ehrflow-test-${run}-payment-value`;
  manifest[paymentSubject] = { file: 'test/payment.avsc' };
  subjects.push(paymentSubject);
  // The real pipeline schemas, under run-unique subjects, to prove the registry takes them as they are.
  for (const s of repo.subjects.filter((x) => x.schema.group === 'pipeline')) {
    copyFileSync(s.schema.path, join(dir, s.schema.file));
    const subject = `ehrflow-test-${run}-${s.subject}`;
    manifest[subject] = { file: s.schema.file };
    subjects.push(subject);
  }
  writeFileSync(join(dir, 'subjects.json'), JSON.stringify({ subjects: manifest }));
  writeFileSync(join(dir, 'test', 'payment.avsc'), payment([ID, AMOUNT]));
});

afterAll(async () => {
  for (const s of subjects) await registry.deleteSubject(s);
  await registry.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('npm run schemas (against the real registry)', () => {
  const paymentSubject = () => subjects[0] as string;

  it('register sets the level, registers every subject, and is idempotent', async () => {
    const first = await cli(['register']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    for (const s of subjects)
      expect(first.stdout).toMatch(new RegExp(`${s.replace(/[.]/g, '\\.')}\\s+registered\\s+v1\\s+\\d+`));
    expect(first.stdout).toContain('→ BACKWARD_TRANSITIVE');
    expect(await registry.getCompatibility(paymentSubject())).toBe('BACKWARD_TRANSITIVE');

    const again = await cli(['register']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`${paymentSubject()}\\s+unchanged\\s+v1`));
    expect(await registry.versions(paymentSubject())).toEqual([1]);
  });

  it('the registered raw envelope encodes and decodes with the generated type', async () => {
    const codec = createCodec(registry);
    const subject = `ehrflow-test-${run}-ehr.raw-value`;
    const value: RawEnvelope = {
      recordId: '0123456789abcdef0123456789abcdef',
      jobId: 'job-1',
      sourceId: 'epic-sandbox',
      resourceType: 'Patient',
      kind: 'UPSERT',
      format: 'FHIR_JSON',
      payload: Buffer.from([1, 2, 3]),
      keyId: 'k1',
      sourceLocator: 'file 1 line 1',
      extractedAt: 1_700_000_000_000,
      sizeBytes: 3,
    };
    const buf = await codec.encode(subject, value);
    const latest = await registry.latest(subject);
    expect(buf.readUInt32BE(1)).toBe(latest.id);
    const decoded = await codec.decode<RawEnvelope>(buf);
    expect({ ...decoded.value }).toEqual(value);
  });

  it('check and register refuse an incompatible change, naming the field and the rule', async () => {
    writeFileSync(join(dir, 'test', 'payment.avsc'), payment([ID, { ...AMOUNT, type: 'int' }]));
    const check = await cli(['check', '--subject', paymentSubject()]);
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/amount\s+type_changed\s+string → int\s+BREAKS\s+BACKWARD and FORWARD/);
    expect(check.stdout).toContain('INCOMPATIBLE');
    expect(check.stderr).toContain(`incompatible: ${paymentSubject()}`);

    const register = await cli(['register', '--subject', paymentSubject()]);
    expect(register.code).toBe(1);
    expect(register.stdout).toMatch(/REFUSED \(incompatible\)/);
    expect(register.stderr).toContain('registry refused an incompatible schema');
    expect(await registry.versions(paymentSubject())).toEqual([1]);
  });

  it('check, diff and register accept a compatible change', async () => {
    const memo = { name: 'memo', type: ['null', 'string'], default: null, doc: 'memo', phi: 'free_text' };
    writeFileSync(join(dir, 'test', 'payment.avsc'), payment([ID, AMOUNT, memo]));
    const check = await cli(['check', '--subject', paymentSubject()]);
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/changed\s+compatible/);
    const diff = await cli(['diff', '--subject', paymentSubject()]);
    expect(diff.code).toBe(0);
    expect(diff.stdout).toMatch(
      /memo\s+added\s+- → null \| string\s+ok\s+compatible: the new field has a default/,
    );
    const register = await cli(['register', '--subject', paymentSubject(), '--dry-run']);
    expect(register.stdout).toMatch(/would register/);
    expect(await registry.versions(paymentSubject())).toEqual([1]);
    const real = await cli(['register', '--subject', paymentSubject()]);
    expect(real.code).toBe(0);
    expect(real.stdout).toMatch(/registered\s+v2/);
  });

  it('exits 3 with a clear message when the registry is unreachable', async () => {
    const r = await cli(['check'], { SCHEMA_REGISTRY_URL: url.replace(/:\d+\//, ':1/') });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^REGISTRY_UNAVAILABLE: schema registry unreachable at .* \(ECONNREFUSED\)/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
