import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { rewriteSources } from './run-scenario.ts';

let dir: string | undefined;
afterEach(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('the sources file a scenario hands the extractor', () => {
  it('points every source at the rewritten URLs and sets the scenario timeouts, keeping the rest', async () => {
    dir = await mkdtemp(join(tmpdir(), 'faults-sources-'));
    const file = join(dir, 'sources.json');
    const source = (site: string) => ({
      id: `s-${site}`,
      baseUrl: `http://127.0.0.1:4000/${site}/fhir`,
      tokenUrl: `http://127.0.0.1:4000/${site}/token`,
      maxConcurrency: 4,
    });
    await writeFile(file, JSON.stringify({ sources: [source('a'), source('b')] }));
    await rewriteSources(file, (url) => url.replace('127.0.0.1:4000', '10.0.0.2:5000'), {
      headersTimeoutMs: 10_000,
      bodyIdleTimeoutMs: 10_000,
    });
    const { sources } = JSON.parse(await readFile(file, 'utf8')) as { sources: Record<string, unknown>[] };
    expect(sources.map((s) => [s.baseUrl, s.tokenUrl])).toEqual([
      ['http://10.0.0.2:5000/a/fhir', 'http://10.0.0.2:5000/a/token'],
      ['http://10.0.0.2:5000/b/fhir', 'http://10.0.0.2:5000/b/token'],
    ]);
    for (const s of sources) {
      expect(s.headersTimeoutMs).toBe(10_000);
      expect(s.bodyIdleTimeoutMs).toBe(10_000);
      expect(s.connectTimeoutMs).toBeUndefined();
      expect(s.maxConcurrency).toBe(4);
    }
  });
});
