import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { CanaryMatcher } from '@ehrflow/testing';
import type { LeakHit, LeakSource } from './leak-report.ts';

export interface FileScanResult {
  readonly hits: LeakHit[];
  /** Files read. */
  readonly files: number;
  /** Paths given that do not exist (a typo must not make the scan pass). */
  readonly missing: string[];
}

/**
 * Scans files line by line; a directory is scanned recursively (every file in it). Each hit is
 * located as `<path>:<line>`. Memory stays bounded by the longest line.
 */
export async function scanFiles(
  paths: readonly string[],
  source: LeakSource,
  matcher: CanaryMatcher,
): Promise<FileScanResult> {
  const hits: LeakHit[] = [];
  const missing: string[] = [];
  let files = 0;
  for (const path of paths) {
    const found = await listFiles(path);
    if (found === undefined) {
      missing.push(path);
      continue;
    }
    for (const file of found) {
      files += 1;
      hits.push(...(await scanFile(file, source, matcher)));
    }
  }
  return { hits, files, missing };
}

/** Scans one text (an HTTP response, a dump) line by line; hits are located `<label>:<line>`. */
export function scanText(text: string, label: string, source: LeakSource, matcher: CanaryMatcher): LeakHit[] {
  const hits: LeakHit[] = [];
  text.split('\n').forEach((line, i) => {
    for (const m of matcher.find(line)) {
      hits.push({ source, location: `${label}:${i + 1}`, canary: m.index, count: m.count, kind: 'clear' });
    }
  });
  return hits;
}

async function scanFile(file: string, source: LeakSource, matcher: CanaryMatcher): Promise<LeakHit[]> {
  const hits: LeakHit[] = [];
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n += 1;
    for (const m of matcher.find(line)) {
      hits.push({ source, location: `${file}:${n}`, canary: m.index, count: m.count, kind: 'clear' });
    }
  }
  return hits;
}

async function listFiles(path: string): Promise<string[] | undefined> {
  let info;
  try {
    info = await stat(path);
  } catch {
    return undefined;
  }
  if (info.isFile()) return [path];
  if (!info.isDirectory()) return [];
  const entries = await readdir(path, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}
