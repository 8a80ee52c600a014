import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createSimulator } from '@ehrflow/ehr-sim';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitForValue } from '@ehrflow/testing';
import type { BackfillProgress } from './checkpoint.ts';
import { createJobStore } from './job-store.ts';
import type { JobView } from './job-view.ts';
import {
  createIntStack,
  DATABASE_URL,
  expectedRecords,
  recordExchanges,
  type SiteSetup,
} from './testing/stack.ts';

// kill -9 of an extractor process in the middle of a backfill, then a new process: the files the
// checkpoint marks finished are never requested again, partial files resume with a Range request
// past their committed lines, and every record is there in the end.

const stack = createIntStack('rs');
const main = fileURLToPath(new URL('./main.ts', import.meta.url));
const children: ChildProcess[] = [];

beforeAll(() => stack.setUp());
afterAll(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await stack.tearDown();
});

function startChild(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [main], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

async function api(port: number, method: string, path: string, body?: unknown): Promise<JobView | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    return res.ok ? ((await res.json()) as JobView) : undefined;
  } catch {
    return undefined;
  }
}

describe('kill -9 mid-download and restart', () => {
  it('never downloads a finished file again and resumes partial files with Range', async () => {
    const sim = createSimulator({
      seed: `rs-${stack.rid}`,
      sites: ['site-a'],
      patientsPerSite: 150,
      clients: [stack.secretClient],
      rateLimit: { limit: 0, windowMs: 1000, window: 'sliding' },
      export: { maxResourcesPerFile: 100, pollsBeforeReady: 1, retryAfterSeconds: 1 },
      faults: { latency: { fixedMs: 150, randomMs: 0 } },
    });
    const exchanges = recordExchanges(sim);
    await sim.start(0);
    const site: SiteSetup = {
      site: 'site-a',
      sourceId: `rs-${stack.rid}`,
      clientId: stack.secretClient.clientId,
    };
    const port = await freePort();
    const env = stack.envFor(
      stack.sourcesFile(sim, [site], { rateLimitPerMinute: 60_000, maxConcurrency: 2 }),
      {
        HTTP_PORT: String(port),
        EXTRACTOR_LEASE_MS: '1500',
        // Small batches: a file is committed many times while it downloads, so a kill leaves partial files.
        EXTRACTOR_BATCH_SIZE: '10',
      },
    );
    const pool = new pg.Pool({ connectionString: DATABASE_URL });
    const store = createJobStore(pool, stack.dbSchema);
    try {
      const first = startChild(env);
      const job = await waitForValue(
        () => api(port, 'POST', '/jobs', { source: site.sourceId, kind: 'backfill' }),
        { what: 'the first extractor', timeoutMs: 30_000 },
      );
      await waitForValue(
        async () => {
          const record = await store.get(job.id);
          const files = record?.progress?.kind === 'backfill' ? record.progress.files : [];
          const done = files.filter((f) => f.done).length;
          const partial = files.filter((f) => !f.done && f.position.byteOffset > 0).length;
          return done >= 2 && partial >= 1 ? true : undefined;
        },
        { what: 'finished and partial files', timeoutMs: 60_000 },
      );
      first.kill('SIGKILL');
      await new Promise((r) => first.once('exit', r));
      const killedAt = Date.now();

      // The checkpoint as the killed process left it.
      const atKill = (await store.get(job.id))?.progress as BackfillProgress;
      const pathOf = (url: string): string => new URL(url).pathname;
      const finished = new Set(atKill.files.filter((f) => f.done).map((f) => pathOf(f.url)));
      const partial = new Set(
        atKill.files.filter((f) => !f.done && f.position.byteOffset > 0).map((f) => pathOf(f.url)),
      );
      const untouched = new Set(
        atKill.files.filter((f) => !f.done && f.position.byteOffset === 0).map((f) => pathOf(f.url)),
      );
      expect(finished.size).toBeGreaterThanOrEqual(2);
      expect(finished.size).toBeLessThan(atKill.files.length);
      sim.resetCounters();

      startChild(env);
      const final = await waitForValue(
        async () => {
          const view = await api(port, 'GET', `/jobs/${job.id}`);
          return view !== undefined && view.state !== 'running' && view.state !== 'pending'
            ? view
            : undefined;
        },
        { what: 'the resumed job to finish', timeoutMs: 90_000 },
      );
      const expected = expectedRecords(sim, site.site, site.sourceId).upserts;
      expect(final.state).toBe('completed');
      expect(final.counts.produced).toBe(expected.size);
      expect(sim.counters().exportsStarted).toBe(0);

      const downloads = exchanges.filter((e) => e.arrivedAt > killedAt && e.path.endsWith('.ndjson'));
      const fetched = new Set(downloads.map((e) => e.path));
      // Per file: nothing finished is fetched again; everything unfinished is fetched.
      expect([...finished].filter((p) => fetched.has(p))).toEqual([]);
      for (const p of [...partial, ...untouched]) expect(fetched.has(p), p).toBe(true);
      // (The simulator's filesServed counter is not compared here: a download the killed process
      // had in flight can be counted on either side of the counter reset.)
      expect(downloads.filter((e) => e.status === 200 || e.status === 206).length).toBeGreaterThan(0);
      // Partial files continue where their checkpoint stopped: 206 to a Range request.
      for (const p of partial) expect(downloads.find((e) => e.path === p)?.status, p).toBe(206);

      const { raw } = await stack.readBack(
        job.id,
        (r) => new Set(r.map((x) => x.recordId)).size >= expected.size,
      );
      expect(new Set(raw.map((r) => r.recordId))).toEqual(expected);
    } finally {
      await pool.end();
      await sim.stop();
    }
  });
});
