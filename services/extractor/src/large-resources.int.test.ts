import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSimulator } from '@ehrflow/ehr-sim';
import { ConfigResourceTypes } from '@ehrflow/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobAlert } from './job-alert.ts';
import { createIntStack, expectedRecords, waitForEnd, type SiteSetup } from './testing/stack.ts';

// A source holding large resources (documents with inline attachments, long narratives), against
// the real broker: resources of up to a few hundred KB are batched by bytes and all produced; a
// resource larger than the raw topic takes (the broker's `message.max.bytes`, 1 MiB by default on
// these test topics) is refused by the broker on every attempt: it must not fail the job or block
// the rest of its file (before the extractor bounded resources by the topic's limit, one such
// resource failed the job), and the job must not claim to be complete either.

const stack = createIntStack('lr');
const TYPES = ['Patient', 'Observation'] as const;

beforeAll(() => stack.setUp());
afterAll(() => stack.tearDown());

/** A simulator whose Observations are, one in six, padded to `largeBytes`. */
function largeSite(name: string, largeBytes: number) {
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
  const site: SiteSetup = {
    site: 'site-a',
    sourceId: `${name}-${stack.rid}`,
    clientId: stack.secretClient.clientId,
  };
  const expected = () => expectedRecords(sim, site.site, site.sourceId, { types: TYPES }).upserts;
  return { sim, site, expected };
}

async function runWith(name: string, largeBytes: number, env: Record<string, string> = {}) {
  const { sim, site, expected } = largeSite(name, largeBytes);
  await sim.start(0);
  const sources = stack.sourcesFile(sim, [site], { rateLimitPerMinute: 60_000, resourceTypes: [...TYPES] });
  const extractor = await stack.inProcess(stack.envFor(sources, env));
  try {
    const job = await extractor.jobs.start({ source: site.sourceId, kind: 'backfill' });
    const final = await waitForEnd(extractor, job.id, 90_000);
    return { final, expected: expected(), large: sim.counters().largeResources, jobId: job.id };
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

  it('leaves out a resource larger than the raw topic takes, produces the rest, and ends the job partial', async () => {
    // The test topics take the broker's default, 1 MiB; deploy/topics gives the raw topic 2 MiB.
    // No EXTRACTOR_MAX_RESOURCE_BYTES: the extractor reads the raw topic's limit from the broker.
    const { final, expected, large, jobId } = await runWith('lr-big', 1_500_000);
    expect(large).toBeGreaterThan(3);
    // Read whole and reconciled; what was left out is counted, by code and by type, and the job
    // does not claim to be complete.
    expect(final).toMatchObject({
      state: 'partial',
      reason: 'records_too_large',
      errorCode: 'TOO_LARGE',
      errorsByCode: { TOO_LARGE: large },
      tooLarge: { Observation: large },
      errorEntries: null,
    });
    expect(final.counts).toMatchObject({ produced: expected.size - large, errors: large });
    expect(final.counts.read).toBe(expected.size);
    const { raw } = await stack.readBack(jobId, (r) => r.length >= expected.size - large);
    expect(raw).toHaveLength(expected.size - large);
  });

  it('alerts on a partial job, and retry-failed with a raised limit brings the left-out resources', async () => {
    const { sim, site, expected } = largeSite('lr-retry', 300_000);
    await sim.start(0);
    const sources = stack.sourcesFile(sim, [site], { rateLimitPerMinute: 60_000, resourceTypes: [...TYPES] });
    const alertFile = join(stack.dir, `alerts-lr-${stack.rid}.jsonl`);
    try {
      // A limit below the resources' size: the operator's setting, or a raw topic that takes less.
      const strict = await stack.inProcess(
        stack.envFor(sources, { EXTRACTOR_MAX_RESOURCE_BYTES: '200000', ALERT_FILE: alertFile }),
      );
      let partial;
      try {
        const job = await strict.jobs.start({ source: site.sourceId, kind: 'backfill' });
        partial = await waitForEnd(strict, job.id, 90_000);
      } finally {
        await strict.close();
      }
      const large = sim.counters().largeResources;
      expect(large).toBeGreaterThan(3);
      expect(partial).toMatchObject({
        state: 'partial',
        reason: 'records_too_large',
        tooLarge: { Observation: large },
      });
      const alerts = readFileSync(alertFile, 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as JobAlert);
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({
        kind: 'job_partial',
        jobId: partial.id,
        reason: 'records_too_large',
        tooLarge: { Observation: large },
        retryTypes: ['Observation'],
      });

      // The limit raised (the default), retry-failed exports the Observations again and completes.
      const relaxed = await stack.inProcess(stack.envFor(sources));
      try {
        const retry = await relaxed.jobs.retryFailed(partial.id);
        if (retry === undefined) throw new Error('retry-failed found no job');
        expect(retry).toMatchObject({ parentJobId: partial.id, resourceTypes: ['Observation'] });
        const done = await waitForEnd(relaxed, retry.id, 90_000);
        expect(done).toMatchObject({ state: 'completed', reason: null, tooLarge: null });
        const observations = expectedRecords(sim, site.site, site.sourceId, {
          types: ['Observation'],
        }).upserts;
        expect(done.counts).toMatchObject({ produced: observations.size, errors: 0 });
        // Both jobs together put every resource on the raw topic.
        const first = await stack.readBack(partial.id, (r) => r.length >= expected().size - large);
        const second = await stack.readBack(retry.id, (r) => r.length >= observations.size);
        const all = new Set([...first.raw, ...second.raw].map((r) => r.recordId));
        expect(all).toEqual(expected());
      } finally {
        await relaxed.close();
      }
    } finally {
      await sim.stop();
    }
  });

  // Last in the file: it lowers the raw topic's limit for good.
  it('keeps produce calls under a raw topic that takes less than 1 MiB', async () => {
    // 128 KiB: one export batch of this source (a file of 40 resources, ~6 of them 100 KB) is
    // ~600 KB; sent as one call, each partition's share of it (~200 KB) is more than the topic
    // takes, and the broker refuses it on every attempt.
    const topicLimit = 128 * 1024;
    const admin = stack.kafka.kafkajs.admin();
    await admin.connect();
    try {
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: stack.rawTopic,
            configEntries: [{ name: 'max.message.bytes', value: String(topicLimit) }],
          },
        ],
      });
    } finally {
      await admin.disconnect();
    }
    const { final, expected, large, jobId } = await runWith('lr-small-topic', 100_000);
    expect(large).toBeGreaterThan(3);
    expect(final).toMatchObject({ state: 'completed', reason: null });
    expect(final.counts).toMatchObject({ produced: expected.size, errors: 0 });
    const { raw } = await stack.readBack(jobId, (r) => r.length >= expected.size);
    expect(new Set(raw.map((r) => r.recordId))).toEqual(expected);
  });
});
