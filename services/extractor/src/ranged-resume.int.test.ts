import { createSimulator } from '@ehrflow/ehr-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIntStack, expectedRecords, waitForEnd, type SiteSetup } from './testing/stack.ts';

// A server that renders NDJSON on the fly (a `meta` stamp of varying length per request), behind a
// network that resets and cuts downloads mid-line: a resume at a byte offset of an earlier
// download would start in the middle of a line. Whatever validators the server gives (none, a
// Last-Modified that does not change with the bytes, an ETag that does), every record arrives
// exactly once and no line is taken for a PARSE_ERROR.

const stack = createIntStack('rr');
const TYPES = ['Patient', 'Observation'] as const;

beforeAll(() => stack.setUp());
afterAll(() => stack.tearDown());

describe('resumes on a file whose bytes change between requests', () => {
  it.each(['none', 'last-modified', 'etag'] as const)(
    'exact counts, no PARSE_ERROR, nothing lost or doubled (validators: %s)',
    async (fileValidators) => {
      const sim = createSimulator({
        // A fixed seed: the same data and fault draws each run (up to the order of parallel requests).
        seed: `rr-${fileValidators}`,
        sites: ['site-a'],
        patientsPerSite: 60,
        resourcesPerPatient: 2,
        clients: [stack.secretClient],
        rateLimit: { limit: 0, windowMs: 1000, window: 'sliding' },
        export: { maxResourcesPerFile: 40, pollsBeforeReady: 1, retryAfterSeconds: 1 },
        faults: {
          volatileFileBytes: true,
          fileValidators,
          resetProbability: 0.3,
          truncateProbability: 0.6,
        },
      });
      await sim.start(0);
      const site: SiteSetup = {
        site: 'site-a',
        sourceId: `rr-${fileValidators}-${stack.rid}`,
        clientId: stack.secretClient.clientId,
      };
      const sources = stack.sourcesFile(sim, [site], {
        rateLimitPerMinute: 60_000,
        resourceTypes: [...TYPES],
      });
      // Small batches: positions are committed inside files, so resumes start mid-file.
      const extractor = await stack.inProcess(
        stack.envFor(sources, { EXTRACTOR_BATCH_SIZE: '7', EXTRACTOR_HTTP_RETRIES: '20' }),
      );
      try {
        const job = await extractor.jobs.start({ source: site.sourceId, kind: 'backfill' });
        const final = await waitForEnd(extractor, job.id, 90_000);
        const expected = expectedRecords(sim, site.site, site.sourceId, { types: TYPES }).upserts;
        const faults = sim.counters();
        // The faults did fire: the job resumed downloads, some cut cleanly in the middle of a line.
        expect(faults.resetsInjected + faults.truncationsInjected).toBeGreaterThan(2);
        expect(faults.truncationsInjected).toBeGreaterThan(0);

        expect(final).toMatchObject({ state: 'completed', reason: null });
        // No fragment of a line was ever taken for a line: no PARSE_ERROR, no error at all.
        expect(final.errorsByCode).toEqual({});
        expect(final.counts).toMatchObject({
          read: expected.size,
          produced: expected.size,
          errors: 0,
          duplicates: 0,
        });
        const { raw } = await stack.readBack(job.id, (r) => r.length >= expected.size);
        // Exactly once each: a resumed line is neither lost nor produced again.
        expect(raw).toHaveLength(expected.size);
        expect(new Set(raw.map((r) => r.recordId))).toEqual(expected);
      } finally {
        await extractor.close();
        await sim.stop();
      }
    },
    120_000,
  );
});
