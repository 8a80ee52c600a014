import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { formatLeakReport, leakScanPassed } from './leak-report.ts';
import { leakScanCli, parseCanaryFile, runLeakScan } from './leak-scan.ts';

const CANARIES = ['Quillonbeck', '900-47-1234'];

describe('runLeakScan over files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'leak-scan-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds a canary planted in a log file and reports file and line, not the value', async () => {
    await writeFile(join(dir, 'clean.log'), '{"level":30,"msg":"batch done","records":12}\n');
    await writeFile(join(dir, 'leaky.log'), '{"msg":"start"}\n{"msg":"parse failed for 900 47 1234"}\n');
    const report = await runLeakScan({ canaries: CANARIES, logPaths: [dir] });
    expect(report.scanned.log).toBe(2);
    expect(report.hits).toEqual([
      { source: 'log', location: `${join(dir, 'leaky.log')}:2`, canary: 1, count: 1, kind: 'clear' },
    ]);
    expect(leakScanPassed(report)).toBe(false);
    const printed = formatLeakReport(report).join('\n') + JSON.stringify(report);
    for (const value of CANARIES) expect(printed).not.toContain(value);
  });

  it('passes when no file holds a canary', async () => {
    await writeFile(join(dir, 'a.log'), '{"msg":"ok","recordId":"7f3a"}\n');
    await writeFile(join(dir, 'alerts.jsonl'), '{"kind":"drift","field":"birthDate"}\n');
    const report = await runLeakScan({
      canaries: CANARIES,
      logPaths: [dir],
      alertPaths: [join(dir, 'alerts.jsonl')],
    });
    expect(report.hits).toEqual([]);
    expect(report.scanned.alert).toBe(1);
    expect(leakScanPassed(report)).toBe(true);
  });

  it('is incomplete, and fails, when a path does not exist', async () => {
    const report = await runLeakScan({ canaries: CANARIES, logPaths: [join(dir, 'missing')] });
    expect(report.incomplete).toHaveLength(1);
    expect(leakScanPassed(report)).toBe(false);
  });
});

describe('leakScanCli', () => {
  let dir: string;
  let out: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'leak-cli-'));
    out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await rm(dir, { recursive: true, force: true });
  });

  it('exits 1 on a hit and never prints the canary', async () => {
    await writeFile(join(dir, 'x.log'), 'hello Quillonbeck\n');
    await writeFile(join(dir, 'canaries.txt'), 'Quillonbeck\n900-47-1234\n');
    const code = await leakScanCli([
      '--canaries-file',
      join(dir, 'canaries.txt'),
      '--logs',
      join(dir, 'x.log'),
    ]);
    expect(code).toBe(1);
    expect(out).toContain('canary #0');
    expect(out).not.toContain('Quillonbeck');
  });

  it('exits 0 on a clean folder and 2 without canaries', async () => {
    await writeFile(join(dir, 'x.log'), 'hello\n');
    expect(await leakScanCli(['--canary', 'Quillonbeck', '--logs', dir])).toBe(0);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(await leakScanCli(['--logs', dir])).toBe(2);
  });
});

describe('parseCanaryFile', () => {
  it('reads a JSON array or lines', () => {
    expect(parseCanaryFile('["a1b2","c3d4"]')).toEqual(['a1b2', 'c3d4']);
    expect(parseCanaryFile('a1b2\n\n c3d4 \n')).toEqual(['a1b2', 'c3d4']);
  });
});
