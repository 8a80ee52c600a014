import { createSimulator, type Simulator } from '@ehrflow/ehr-sim';
import { decryptPayload } from '@ehrflow/phi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForValue } from '@ehrflow/testing';
import type { Extractor } from './app.ts';
import { createIntStack, expectedRecords, waitForEnd, type SiteSetup } from './testing/stack.ts';

// What a Bulk Data manifest can hold besides output files — `error` and `deleted` entries — and
// what happens when its files expire before the extractor has read them all.

const stack = createIntStack('ex');
const TYPES = ['Patient', 'Observation', 'Condition'] as const;

beforeAll(() => stack.setUp());
afterAll(() => stack.tearDown());

async function withSite(
  name: string,
  sim: Simulator,
  extra: { sources?: Record<string, unknown>; env?: Record<string, string> },
  body: (extractor: Extractor, site: SiteSetup) => Promise<void>,
): Promise<void> {
  await sim.start(0);
  const site: SiteSetup = {
    site: 'site-a',
    sourceId: `${name}-${stack.rid}`,
    clientId: stack.secretClient.clientId,
  };
  const sources = stack.sourcesFile(sim, [site], {
    rateLimitPerMinute: 60_000,
    resourceTypes: [...TYPES],
    ...extra.sources,
  });
  const extractor = await stack.inProcess(stack.envFor(sources, extra.env));
  try {
    await body(extractor, site);
  } finally {
    await extractor.close();
    await sim.stop();
  }
}

describe('manifest entries', () => {
  it('counts each OperationOutcome of the error file as a job error and ends partial, counts reconciled', async () => {
    const sim = createSimulator({
      seed: `er-${stack.rid}`,
      sites: ['site-a'],
      patientsPerSite: 30,
      clients: [stack.secretClient],
      rateLimit: { limit: 0, windowMs: 1000, window: 'sliding' },
      export: { maxResourcesPerFile: 25, pollsBeforeReady: 1, retryAfterSeconds: 1 },
      faults: { exportErrorFile: true },
    });
    await withSite('er', sim, {}, async (extractor, site) => {
      const job = await extractor.jobs.start({ source: site.sourceId, kind: 'backfill' });
      const final = await waitForEnd(extractor, job.id, 60_000);
      const expected = expectedRecords(sim, site.site, site.sourceId, { types: TYPES }).upserts;

      // The simulator's error file holds one OperationOutcome per exported type.
      // Every file read and the counts add up, but the source said it failed: partial, never completed.
      expect(final).toMatchObject({
        state: 'partial',
        reason: 'source_errors',
        errorsByCode: { EXPORT_ERROR_ENTRY: TYPES.length },
      });
      expect(final.errorEntries).toEqual({
        byType: Object.fromEntries(TYPES.map((t) => [t, 1])),
        issueCodes: { processing: TYPES.length },
      });
      expect(final.counts).toMatchObject({ produced: expected.size, deleted: 0, errors: TYPES.length });
      expect(final.counts.read).toBe(expected.size + TYPES.length);
      expect(final.parts.done).toBe(final.parts.total);

      const { raw } = await stack.readBack(job.id, (r) => r.length >= expected.size);
      expect(raw).toHaveLength(expected.size);
      expect(new Set(raw.map((r) => r.recordId))).toEqual(expected);
      expect(raw.every((r) => r.kind === 'UPSERT')).toBe(true);
    });
  });

  it('turns the deleted entries of a _since export into DELETE envelopes with exact counts', async () => {
    const since = '2024-09-01T00:00:00Z';
    const sim = createSimulator({
      // A fixed seed (the source id still comes from the run): this one has deletions well above
      // the precondition below, which a random seed occasionally fell short of.
      seed: 'deleted-entries',
      sites: ['site-a'],
      patientsPerSite: 40,
      deletedFraction: 0.2,
      clients: [stack.secretClient],
      rateLimit: { limit: 0, windowMs: 1000, window: 'sliding' },
      export: { maxResourcesPerFile: 25, pollsBeforeReady: 1, retryAfterSeconds: 1 },
    });
    await withSite('dl', sim, {}, async (extractor, site) => {
      const job = await extractor.jobs.start({ source: site.sourceId, kind: 'backfill', since });
      const final = await waitForEnd(extractor, job.id, 60_000);
      const { upserts, deletes } = expectedRecords(sim, site.site, site.sourceId, {
        types: TYPES,
        sinceMs: Date.parse(since),
      });
      expect(deletes.size).toBeGreaterThan(3);

      expect(final).toMatchObject({ state: 'completed', reason: null });
      expect(final.counts).toMatchObject({ produced: upserts.size, deleted: deletes.size, errors: 0 });
      expect(final.counts.read).toBe(upserts.size + deletes.size);

      const { raw } = await stack.readBack(job.id, (r) => r.length >= upserts.size + deletes.size);
      const deleted = raw.filter((r) => r.kind === 'DELETE');
      expect(new Set(deleted.map((r) => r.recordId))).toEqual(deletes);
      expect(deleted).toHaveLength(deletes.size);
      expect(new Set(raw.filter((r) => r.kind === 'UPSERT').map((r) => r.recordId))).toEqual(upserts);
      const first = deleted[0];
      if (first === undefined) throw new Error('no DELETE envelope');
      const payload = JSON.parse(decryptPayload(stack.keyring, first.payload).toString('utf8')) as {
        resourceType: string;
        id: string;
      };
      expect(TYPES).toContain(payload.resourceType);
      expect(payload.id).toMatch(/^[a-z]+-\d+$/);
    });
  });
});

describe('expired export files', () => {
  it('exports again once when files expire mid-job and completes with exact counts', async () => {
    // The simulator's clock is shifted past the files' lifetime once two files are done.
    let offsetMs = 0;
    const sim = createSimulator({
      seed: `xp-${stack.rid}`,
      sites: ['site-a'],
      patientsPerSite: 40,
      clients: [stack.secretClient],
      rateLimit: { limit: 0, windowMs: 1000, window: 'sliding' },
      export: { maxResourcesPerFile: 10, pollsBeforeReady: 1, retryAfterSeconds: 1 },
      faults: { latency: { fixedMs: 60, randomMs: 0 } },
      now: () => Date.now() + offsetMs,
    });
    await withSite(
      'xp',
      sim,
      { sources: { maxConcurrency: 1 }, env: { EXTRACTOR_MAX_EXPORT_ATTEMPTS: '2' } },
      async (extractor, site) => {
        const job = await extractor.jobs.start({ source: site.sourceId, kind: 'backfill' });
        const before = await waitForValue(
          async () => {
            const view = await extractor.jobs.get(job.id);
            return view !== undefined && view.parts.done >= 2 ? view : undefined;
          },
          { what: 'two files done', timeoutMs: 30_000 },
        );
        expect(before.parts.done).toBeLessThan(before.parts.total);
        offsetMs = 2 * sim.options.export.fileTtlMs;

        const final = await waitForEnd(extractor, job.id, 60_000);
        const expected = expectedRecords(sim, site.site, site.sourceId, { types: TYPES }).upserts;
        expect(final).toMatchObject({ state: 'completed', reason: null });
        // Counts start again with the new export: exact, not doubled by the first attempt's files.
        expect(final.counts).toMatchObject({
          read: expected.size,
          produced: expected.size,
          deleted: 0,
          errors: 0,
        });
        expect(sim.counters().exportsStarted).toBe(2);
        expect((await extractor.store.get(job.id))?.exportAttempts).toBe(2);

        const { raw } = await stack.readBack(
          job.id,
          (r) => new Set(r.map((x) => x.recordId)).size >= expected.size,
        );
        expect(new Set(raw.map((r) => r.recordId))).toEqual(expected);
      },
    );
  });

  it('gives up after EXTRACTOR_MAX_EXPORT_ATTEMPTS exports whose files are always expired', async () => {
    const sim = createSimulator({
      seed: `xa-${stack.rid}`,
      sites: ['site-a'],
      patientsPerSite: 10,
      clients: [stack.secretClient],
      rateLimit: { limit: 0, windowMs: 1000, window: 'sliding' },
      export: { maxResourcesPerFile: 10, pollsBeforeReady: 1, retryAfterSeconds: 1, fileTtlMs: 1 },
    });
    await withSite('xa', sim, { env: { EXTRACTOR_MAX_EXPORT_ATTEMPTS: '3' } }, async (extractor, site) => {
      const job = await extractor.jobs.start({ source: site.sourceId, kind: 'backfill' });
      const final = await waitForEnd(extractor, job.id, 60_000);
      // A named reason an operator can act on, not `internal`.
      expect(final).toMatchObject({ state: 'failed', reason: 'export_expired', errorCode: 'EXPORT_EXPIRED' });
      expect(sim.counters().exportsStarted).toBe(3);
      const { events } = await stack.readBack(job.id, (_r, e) => e.some((x) => x.state === 'failed'));
      expect(events.some((e) => e.state === 'completed')).toBe(false);
    });
  });
});
