import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSimulator, type Simulator } from '@ehrflow/ehr-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipelineError } from '@ehrflow/errors';
import { waitForValue } from '@ehrflow/testing';
import type { Extractor } from './app.ts';
import type { BackfillProgress } from './checkpoint.ts';
import {
  createIntStack,
  expectedRecords,
  recordExchanges,
  waitForEnd,
  type Exchange,
  type SiteSetup,
} from './testing/stack.ts';
import type { JobAlert } from './job-alert.ts';

// Honest job states against a server that fails part of an export (error entries), lists
// resources twice, and breaks down mid-job: partial → retry-failed, duplicates counted, and a
// failed job resumed from its checkpoint.

const stack = createIntStack('js');
const TYPES = ['Patient', 'Observation', 'Condition'] as const;

beforeAll(() => stack.setUp());
afterAll(() => stack.tearDown());

async function withSite(
  name: string,
  sim: Simulator,
  env: Record<string, string>,
  body: (extractor: Extractor, site: SiteSetup, exchanges: Exchange[]) => Promise<void>,
): Promise<void> {
  const exchanges = recordExchanges(sim);
  await sim.start(0);
  const site: SiteSetup = {
    site: 'site-a',
    sourceId: `${name}-${stack.rid}`,
    clientId: stack.secretClient.clientId,
  };
  const sources = stack.sourcesFile(sim, [site], { rateLimitPerMinute: 60_000, resourceTypes: [...TYPES] });
  const extractor = await stack.inProcess(stack.envFor(sources, env));
  try {
    await body(extractor, site, exchanges);
  } finally {
    await extractor.close();
    await sim.stop();
  }
}

function simulator(seed: string, extra: Parameters<typeof createSimulator>[0] = {}): Simulator {
  return createSimulator({
    // A fixed seed per test: the same data every run (source ids stay unique per run).
    seed: `js-${seed}`,
    sites: ['site-a'],
    patientsPerSite: 40,
    clients: [stack.secretClient],
    rateLimit: { limit: 0, windowMs: 1000, window: 'sliding' },
    export: { maxResourcesPerFile: 20, pollsBeforeReady: 1, retryAfterSeconds: 1 },
    ...extra,
  });
}

describe('error entries', () => {
  it('end the job partial with counts per type and issue code, one alert; retry-failed brings the missing type', async () => {
    const sim = simulator('pt', { faults: { failedExportTypes: ['Observation'] } });
    const alertFile = join(stack.dir, `alerts-${stack.rid}.jsonl`);
    await withSite('pt', sim, { ALERT_FILE: alertFile }, async (extractor, site) => {
      const job = await extractor.jobs.start({ source: site.sourceId, kind: 'backfill' });
      const partial = await waitForEnd(extractor, job.id, 60_000);
      const all = expectedRecords(sim, site.site, site.sourceId, { types: TYPES }).upserts;
      const observations = expectedRecords(sim, site.site, site.sourceId, { types: ['Observation'] }).upserts;
      const missingFiles = Math.ceil(observations.size / 20);

      expect(partial).toMatchObject({
        state: 'partial',
        reason: 'source_errors',
        errorCode: 'EXPORT_ERROR_ENTRY',
      });
      expect(partial.errorEntries).toEqual({
        byType: { Observation: missingFiles },
        issueCodes: { exception: missingFiles },
      });
      expect(partial.counts).toMatchObject({ produced: all.size - observations.size, errors: missingFiles });
      // Codes and counts only: nothing of the server's diagnostics text.
      expect(JSON.stringify(partial)).not.toContain('could not be exported');

      const { events } = await stack.readBack(job.id, (_r, e) => e.some((x) => x.state === 'partial'));
      const last = events.find((e) => e.state === 'partial');
      expect(last).toMatchObject({ reason: 'source_errors', errorEntries: partial.errorEntries });
      expect(events.some((e) => e.state === 'completed')).toBe(false);
      const alerts = readFileSync(alertFile, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as JobAlert);
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({ kind: 'job_partial', jobId: job.id, retryTypes: ['Observation'] });

      // The server recovers; retry-failed exports just the failed type, as a new linked job.
      sim.setFaults({ failedExportTypes: [] });
      const retry = await extractor.jobs.retryFailed(job.id);
      expect(retry).toMatchObject({ parentJobId: job.id, resourceTypes: ['Observation'] });
      const done = await waitForEnd(extractor, retry?.id ?? '', 60_000);
      expect(done).toMatchObject({ state: 'completed', errorEntries: null });
      expect(done.counts).toMatchObject({ read: observations.size, produced: observations.size, errors: 0 });
      const retried = await stack.readBack(retry?.id ?? '', (r) => r.length >= observations.size);
      expect(new Set(retried.raw.map((r) => r.recordId))).toEqual(observations);
      expect(retried.events.at(-1)).toMatchObject({ state: 'completed', parentJobId: job.id });
      // A completed job has nothing to retry.
      await expect(extractor.jobs.retryFailed(retry?.id ?? '')).rejects.toMatchObject({
        code: 'JOB_STATE_CONFLICT',
      });
    });
  });
});

describe('source duplicates', () => {
  it('counts a resource listed twice (output file edges, repeated deletions in multi-entry Bundles) once, as duplicates', async () => {
    const since = '2024-09-01T00:00:00Z';
    const sim = simulator('dp', { deletedFraction: 0.2, faults: { repeatResources: true } });
    await withSite('dp', sim, {}, async (extractor, site) => {
      const job = await extractor.jobs.start({ source: site.sourceId, kind: 'backfill', since });
      const final = await waitForEnd(extractor, job.id, 60_000);
      const { upserts, deletes } = expectedRecords(sim, site.site, site.sourceId, {
        types: TYPES,
        sinceMs: Date.parse(since),
      });
      expect(deletes.size).toBeGreaterThan(6);

      expect(final).toMatchObject({ state: 'completed', reason: null });
      expect(final.errorsByCode).toEqual({});
      expect(final.counts).toMatchObject({ produced: upserts.size, deleted: deletes.size, errors: 0 });
      expect(final.counts.duplicates).toBeGreaterThan(0);
      // Every line is accounted for: the repeats are the reads beyond the distinct records.
      expect(final.counts.read).toBe(upserts.size + deletes.size + final.counts.duplicates);

      const { raw, events } = await stack.readBack(
        job.id,
        (r, e) =>
          new Set(r.map((x) => x.recordId)).size >= upserts.size + deletes.size &&
          e.some((x) => x.state === 'completed'),
      );
      expect(new Set(raw.filter((r) => r.kind === 'UPSERT').map((r) => r.recordId))).toEqual(upserts);
      expect(new Set(raw.filter((r) => r.kind === 'DELETE').map((r) => r.recordId))).toEqual(deletes);
      expect(events.find((e) => e.state === 'completed')?.counts.duplicates).toBe(final.counts.duplicates);
    });
  });
});

describe('manifest counts', () => {
  it('reads a file whose line count is not its manifest count again, then fails with manifest_mismatch', async () => {
    const sim = simulator('mc', { patientsPerSite: 10, faults: { manifestCountSkew: 1 } });
    await withSite('mc', sim, {}, async (extractor, site, exchanges) => {
      const job = await extractor.jobs.start({ source: site.sourceId, kind: 'backfill', types: ['Patient'] });
      const final = await waitForEnd(extractor, job.id, 30_000);
      expect(final).toMatchObject({
        state: 'failed',
        reason: 'manifest_mismatch',
        errorCode: 'MANIFEST_COUNT_MISMATCH',
      });
      // The first read and MAX_REFETCHES more, from the start each time, then a named failure.
      const reads = exchanges.filter((e) => e.path.endsWith('/Patient-0.ndjson') && e.status === 200);
      expect(reads).toHaveLength(3);
      // Each read of the file replaced the previous one's counts: nothing counted twice.
      expect(final.counts.read).toBe(
        expectedRecords(sim, site.site, site.sourceId, { types: ['Patient'] }).upserts.size,
      );
    });
  });
});

describe('resume', () => {
  it('resumes a failed job from its checkpoint without fetching finished files again', async () => {
    const sim = simulator('rf', { patientsPerSite: 60, faults: { latency: { fixedMs: 40, randomMs: 0 } } });
    await withSite(
      'rf',
      sim,
      // No retry window: the breakdown must exhaust the one retry at once, not ride it out.
      { EXTRACTOR_HTTP_RETRIES: '1', EXTRACTOR_RETRY_MAX_MS: '50', EXTRACTOR_HTTP_RETRY_WINDOW_MS: '0' },
      async (extractor, site, exchanges) => {
        const job = await extractor.jobs.start({ source: site.sourceId, kind: 'backfill' });
        await waitForValue(
          async () => {
            const view = await extractor.jobs.get(job.id);
            return view !== undefined && view.parts.done >= 2 ? view : undefined;
          },
          { what: 'two files done', timeoutMs: 30_000 },
        );
        // The EHR breaks down: every request fails, retries run out, the job fails.
        sim.setFaults({ serverErrors: { every: 1, burst: 1_000_000, status: 500 } });
        const failed = await waitForEnd(extractor, job.id, 30_000);
        expect(failed).toMatchObject({ state: 'failed', reason: 'network' });
        const atFailure = (await extractor.store.get(job.id))?.progress as BackfillProgress;
        const finished = new Set(atFailure.files.filter((f) => f.done).map((f) => new URL(f.url).pathname));
        expect(finished.size).toBeGreaterThanOrEqual(2);
        expect(finished.size).toBeLessThan(atFailure.files.length);

        sim.clearFaults();
        const resumedAt = Date.now();
        const resumed = await extractor.jobs.resume(job.id);
        expect(resumed?.id).toBe(job.id);
        const final = await waitForEnd(extractor, job.id, 60_000);
        const expected = expectedRecords(sim, site.site, site.sourceId, { types: TYPES }).upserts;
        expect(final).toMatchObject({ state: 'completed', reason: null, errorCode: null });
        expect(final.counts).toMatchObject({
          read: expected.size,
          produced: expected.size,
          errors: 0,
          duplicates: 0,
        });
        const fetched = new Set(
          exchanges.filter((e) => e.arrivedAt >= resumedAt && e.path.endsWith('.ndjson')).map((e) => e.path),
        );
        expect([...finished].filter((p) => fetched.has(p))).toEqual([]);
        expect(sim.counters().exportsStarted).toBe(1);
        const { raw } = await stack.readBack(
          job.id,
          (r) => new Set(r.map((x) => x.recordId)).size >= expected.size,
        );
        expect(new Set(raw.map((r) => r.recordId))).toEqual(expected);
        // Only a failed or cancelled job resumes.
        await expect(extractor.jobs.resume(job.id)).rejects.toMatchObject({ code: 'JOB_STATE_CONFLICT' });
      },
    );
  });

  it('keeps running a job whose lease ran out here while renewals failed: the takeover does not start it twice', async () => {
    // Slow files (300 ms each), so the job is still running when its lease has run out.
    const sim = simulator('lo', { patientsPerSite: 120, faults: { latency: { fixedMs: 300, randomMs: 0 } } });
    await withSite('lo', sim, { EXTRACTOR_LEASE_MS: '1000' }, async (extractor, site, exchanges) => {
      const job = await extractor.jobs.start({ source: site.sourceId, kind: 'backfill' });
      await waitForValue(
        async () => {
          const view = await extractor.jobs.get(job.id);
          return view !== undefined && view.parts.done >= 1 ? view : undefined;
        },
        { what: 'a file done', timeoutMs: 30_000 },
      );
      // PostgreSQL away for this process's renewals (as during a restart): the lease runs out,
      // and the takeover — once the database answers it — finds the job stale.
      const { store } = extractor;
      const renew = store.renew.bind(store);
      const claimStale = store.claimStale.bind(store);
      let claimedOwn = false;
      store.renew = () =>
        Promise.reject(new PipelineError('DATABASE_UNAVAILABLE', 'renew leases failed (test outage)'));
      store.claimStale = async (...args) => {
        const claimed = await claimStale(...args);
        if (claimed.some((r) => r.id === job.id)) claimedOwn = true;
        return claimed;
      };
      try {
        await waitForValue(() => Promise.resolve(claimedOwn || undefined), {
          what: 'the takeover to claim the job running here',
          timeoutMs: 15_000,
        });
      } finally {
        store.renew = renew;
        store.claimStale = claimStale;
      }
      const final = await waitForEnd(extractor, job.id, 60_000);
      const expected = expectedRecords(sim, site.site, site.sourceId, { types: TYPES }).upserts;
      expect(final).toMatchObject({ state: 'completed', reason: null });
      expect(final.counts).toMatchObject({ read: expected.size, produced: expected.size, duplicates: 0 });
      // Run once: every output file fetched once (a second run would read the unfinished ones again).
      const fetches = new Map<string, number>();
      for (const e of exchanges)
        if (e.path.endsWith('.ndjson')) fetches.set(e.path, (fetches.get(e.path) ?? 0) + 1);
      expect([...fetches].filter(([, n]) => n > 1)).toEqual([]);
      expect(sim.counters().exportsStarted).toBe(1);
    });
  });

  it('resumes a cancelled job: the export is gone, so only the types not read completely are exported again', async () => {
    const sim = simulator('rc', { patientsPerSite: 60, faults: { latency: { fixedMs: 40, randomMs: 0 } } });
    await withSite('rc', sim, {}, async (extractor, site, exchanges) => {
      const job = await extractor.jobs.start({ source: site.sourceId, kind: 'backfill' });
      const patientsDone = async (): Promise<BackfillProgress | undefined> => {
        const progress = (await extractor.store.get(job.id))?.progress;
        if (progress?.kind !== 'backfill') return undefined;
        const patients = progress.files.filter((f) => f.type === 'Patient');
        return patients.length > 0 && patients.every((f) => f.done) && !progress.files.every((f) => f.done)
          ? progress
          : undefined;
      };
      const atCancel = await waitForValue(patientsDone, {
        what: 'every Patient file read',
        timeoutMs: 30_000,
      });
      await extractor.jobs.cancel(job.id);
      expect(await waitForEnd(extractor, job.id, 30_000)).toMatchObject({
        state: 'cancelled',
        reason: 'cancelled',
      });
      const patientFiles = new Set(
        atCancel.files.filter((f) => f.type === 'Patient').map((f) => new URL(f.url).pathname),
      );

      const resumedAt = Date.now();
      await extractor.jobs.resume(job.id);
      const final = await waitForEnd(extractor, job.id, 60_000);
      const expected = expectedRecords(sim, site.site, site.sourceId, { types: TYPES }).upserts;
      expect(final).toMatchObject({ state: 'completed', reason: null });
      expect(final.counts).toMatchObject({
        read: expected.size,
        produced: expected.size,
        errors: 0,
        duplicates: 0,
      });
      // One new export (the first was DELETEd at cancel), without Patient: its files are kept.
      expect(sim.counters().exportsStarted).toBe(2);
      const fetched = exchanges
        .filter((e) => e.arrivedAt >= resumedAt && e.path.endsWith('.ndjson'))
        .map((e) => e.path);
      expect(fetched.length).toBeGreaterThan(0);
      expect(fetched.filter((p) => patientFiles.has(p) || /\/Patient-\d+\.ndjson$/.test(p))).toEqual([]);
      const { raw } = await stack.readBack(
        job.id,
        (r) => new Set(r.map((x) => x.recordId)).size >= expected.size,
      );
      expect(new Set(raw.map((r) => r.recordId))).toEqual(expected);
    });
  });
});
