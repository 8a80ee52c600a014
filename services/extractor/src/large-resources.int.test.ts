import { createSimulator } from '@ehrflow/ehr-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIntStack, expectedRecords, waitForEnd, type SiteSetup } from './testing/stack.ts';

// A source holding large resources (documents with inline attachments, long narratives), against
// the real broker: resources of up to a few hundred KB are batched by bytes and all produced; a
// resource larger than the raw topic takes (the broker's `message.max.bytes`, 1 MiB by default on
// these test topics) is refused by the broker on every attempt: it must not fail the job or block
// the rest of its file (before EXTRACTOR_MAX_RESOURCE_BYTES, one such resource failed the job).

const stack = createIntStack('lr');
const TYPES = ['Patient', 'Observation'] as const;

beforeAll(() => stack.setUp());
afterAll(() => stack.tearDown());

async function runWith(name: string, largeBytes: number, env: Record<string, string> = {}) {
  const sim = createSimulator({
    seed: `lr-${stack.rid}`,
    sites: ['site-a'],
    patientsPerSite: 20,
    resourcesPerPatient: 3,
    clients: [stack.secretClient],
    rateLimit: { limit: 0, windowMs: 1000, window: 'sliding' },
    export: { maxResourcesPerFile: 40, pollsBeforeReady: 1, retryAfterSeconds: 1 },
    faults: { largeResources: { resourceType: 'Observation', every: 6, bytes: largeBytes } },
  });
  await sim.start(0);
  const site: SiteSetup = {
    site: 'site-a',
    sourceId: `${name}-${stack.rid}`,
    clientId: stack.secretClient.clientId,
  };
  const sources = stack.sourcesFile(sim, [site], { rateLimitPerMinute: 60_000, resourceTypes: [...TYPES] });
  const extractor = await stack.inProcess(stack.envFor(sources, env));
  try {
    const job = await extractor.jobs.start({ source: site.sourceId, kind: 'backfill' });
    const final = await waitForEnd(extractor, job.id, 90_000);
    const expected = expectedRecords(sim, site.site, site.sourceId, { types: TYPES }).upserts;
    return { final, expected, large: sim.counters().largeResources, jobId: job.id };
  } finally {
    await extractor.close();
    await sim.stop();
  }
}

describe('large resources', () => {
  it('produces every resource of a few hundred KB, with batches bounded by bytes', async () => {
    const { final, expected, large, jobId } = await runWith('lr-mid', 300_000, {
      EXTRACTOR_BATCH_SIZE: '500',
      EXTRACTOR_BATCH_MAX_BYTES: String(700_000),
    });
    expect(large).toBeGreaterThan(3);
    expect(final).toMatchObject({ state: 'completed', reason: null });
    expect(final.counts).toMatchObject({ produced: expected.size, errors: 0 });
    const { raw } = await stack.readBack(jobId, (r) => r.length >= expected.size);
    expect(new Set(raw.map((r) => r.recordId))).toEqual(expected);
  });

  it('counts a resource larger than the raw topic takes as a TOO_LARGE error and produces the rest', async () => {
    // The test topics take the broker's default, 1 MiB; deploy/topics gives the raw topic 2 MiB.
    const { final, expected, large, jobId } = await runWith('lr-big', 1_500_000, {
      EXTRACTOR_MAX_RESOURCE_BYTES: String(1024 * 1024 - 16 * 1024),
    });
    expect(large).toBeGreaterThan(3);
    // Read whole and reconciled, as a line that is not JSON: the error count and code say what was left out.
    expect(final).toMatchObject({ state: 'completed', errorsByCode: { TOO_LARGE: large } });
    expect(final.counts).toMatchObject({ produced: expected.size - large, errors: large });
    expect(final.counts.read).toBe(expected.size);
    const { raw } = await stack.readBack(jobId, (r) => r.length >= expected.size - large);
    expect(raw).toHaveLength(expected.size - large);
  });
});
