import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@ehrflow/logging';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createInbox } from './inbox.ts';
import type { JobResult } from './job.ts';

let dir: string;
let clock: number;
let taken: string[];

const inbox = (over: { requireMarker?: boolean; failOnce?: string } = {}) =>
  createInbox({
    dir,
    suffixes: ['.x12'],
    pollMs: 10,
    stableMs: 1_000,
    requireMarker: over.requireMarker ?? false,
    take: (name): Promise<JobResult> => {
      taken.push(name);
      if (name === over.failOnce && taken.filter((n) => n === name).length === 1)
        return Promise.reject(new Error('Redis unreachable'));
      return Promise.resolve({ outcome: 'accepted', sets: 1, written: 1, duplicates: 0 });
    },
    logger: createLogger({ name: 'inbox-test', level: 'silent' }),
    now: () => clock,
  });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'x12-inbox-'));
  clock = 0;
  taken = [];
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('inbox', () => {
  it('takes a file only once its size has stood still for the stable time', async () => {
    const box = inbox();
    await writeFile(join(dir, 'a.x12'), 'ISA');
    expect(await box.scan()).toBe(0);
    clock = 500;
    await appendFile(join(dir, 'a.x12'), '*00');
    expect(await box.scan()).toBe(0);
    clock = 1_200;
    expect(await box.scan()).toBe(0);
    clock = 1_600;
    expect(await box.scan()).toBe(1);
    expect(taken).toEqual(['a.x12']);
  });

  it('takes a file at once when its .done marker exists, and ignores other suffixes and temp names', async () => {
    const box = inbox({ requireMarker: true });
    await writeFile(join(dir, 'a.x12'), 'ISA');
    await writeFile(join(dir, '.b.x12.tmp'), 'ISA');
    await writeFile(join(dir, 'c.txt'), 'ISA');
    clock = 10_000;
    expect(await box.scan()).toBe(0);
    expect(await box.scan()).toBe(0);
    await writeFile(join(dir, 'a.x12.done'), '');
    expect(await box.scan()).toBe(1);
    expect(taken).toEqual(['a.x12']);
  });

  it('keeps the files after one that failed transiently for the next scan, so none overtakes it', async () => {
    const box = inbox({ requireMarker: true, failOnce: 'a-claims.x12' });
    for (const name of ['a-claims.x12', 'b-other.x12', 'c-resend-of-a.x12']) {
      await writeFile(join(dir, name), 'ISA');
      await writeFile(join(dir, `${name}.done`), '');
    }
    expect(await box.scan()).toBe(0);
    expect(taken).toEqual(['a-claims.x12']);
    expect(await box.scan()).toBe(3);
    expect(taken).toEqual(['a-claims.x12', 'a-claims.x12', 'b-other.x12', 'c-resend-of-a.x12']);
  });
});
