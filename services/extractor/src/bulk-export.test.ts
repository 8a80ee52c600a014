import { PipelineError } from '@ehrflow/errors';
import type { HttpClient, NdjsonLine } from '@ehrflow/http';
import { createLogger } from '@ehrflow/logging';
import { parseKeyring } from '@ehrflow/phi';
import { createSemaphore, TEST_RETRY_POLICY } from '@ehrflow/resilience';
import { describe, expect, it } from 'vitest';
import type { Batch } from './batch.ts';
import { runBulkExport } from './bulk-export.ts';
import { isComplete, totalsOf, type JobProgress } from './checkpoint.ts';
import type { JobContext } from './job-context.ts';
import type { JobRecord } from './job-store.ts';
import type { SourceConfig } from './sources.ts';

const BASE = 'http://ehr.test/fhir';
const FILES = 3;
const LINES = 4;

/**
 * An EHR behind the client's contract as libs/http keeps it: a file stream holds one of the
 * source's connection slots (its semaphore) until the stream is finished or closed.
 */
function fakeSource(slots: number, lines = LINES, padding = 0) {
  const semaphore = createSemaphore(slots);
  const client = {
    raw: () => Promise.resolve({ status: 202, headers: { 'content-location': `${BASE}/_bulk/1` } }),
    json: () =>
      Promise.resolve({
        status: 200,
        headers: {},
        body: {
          transactionTime: '2026-01-01T00:00:00Z',
          request: `${BASE}/$export`,
          requiresAccessToken: true,
          output: Array.from({ length: FILES }, (_, i) => ({
            type: 'Patient',
            url: `${BASE}/_bulk/1/file-${i}.ndjson`,
            count: lines,
          })),
          error: [],
        },
      }),
    async *ndjsonLines(url: string): AsyncGenerator<NdjsonLine> {
      const release = await semaphore.acquire();
      try {
        let byteOffset = 0;
        for (let lineNo = 1; lineNo <= lines; lineNo++) {
          const id = `${url.slice(-13, -7)}-${lineNo}`;
          const line = JSON.stringify({ resourceType: 'Patient', id, text: { div: 'x'.repeat(padding) } });
          const next = { byteOffset: byteOffset + line.length + 1, lineNo: lineNo + 1 };
          yield { line, lineNo, byteOffset, next };
          byteOffset = next.byteOffset;
        }
      } finally {
        release();
      }
    },
    counters: () => ({ requests: 0, retries: 0, rateLimited: 0, unauthorized: 0, throttledInARow: 0 }),
    close: () => Promise.resolve(),
  } as unknown as HttpClient;
  return { client, semaphore };
}

function context(
  client: HttpClient,
  failCommits: number,
  batching: Partial<Pick<JobContext, 'batchSize' | 'batchMaxBytes'>> = {},
): { ctx: JobContext; progress: () => JobProgress | undefined; committed: Batch[] } {
  let progress: JobProgress | undefined;
  const committed: Batch[] = [];
  let failures = failCommits;
  const ctx: JobContext = {
    job: {
      id: 'job-1',
      sourceId: 'src-1',
      kind: 'backfill',
      resourceTypes: ['Patient'],
      exportAttempts: 0,
    } as unknown as JobRecord,
    source: {
      id: 'src-1',
      baseUrl: BASE,
      exportLevel: 'system',
      maxConcurrency: 1,
    } as unknown as SourceConfig,
    client,
    envelope: {
      sourceId: 'src-1',
      jobId: 'job-1',
      keyring: parseKeyring(`k1:${Buffer.alloc(32, 7).toString('base64')}`),
      pseudonymKey: Buffer.alloc(32, 9),
    },
    signal: new AbortController().signal,
    retryPolicy: { ...TEST_RETRY_POLICY, retries: 5 },
    batchSize: batching.batchSize ?? 2,
    batchMaxBytes: batching.batchMaxBytes ?? 1024 * 1024,
    batchLingerMs: 1_000,
    maxExportAttempts: 2,
    logger: createLogger({ name: 'bulk-export-test', level: 'silent' }),
    progress: () => progress,
    save: (data) => {
      if (data.progress !== undefined) progress = data.progress ?? undefined;
      return Promise.resolve();
    },
    commit: (batch, fold) => {
      // The sink refuses while a dependency is away (Kafka, or the registry the codec asks).
      if (batch.messages.length > 0 && failures > 0) {
        failures--;
        return Promise.reject(new PipelineError('REGISTRY_UNAVAILABLE', 'registry unavailable'));
      }
      progress = fold(progress, batch.counts);
      committed.push(batch);
      return Promise.resolve();
    },
    forgetKeys: () => Promise.resolve(),
    watermarks: () => Promise.resolve(new Map()),
    setWatermark: () => Promise.resolve(),
  };
  return { ctx, progress: () => progress, committed };
}

describe('runBulkExport when a batch cannot be committed', () => {
  it('closes the file stream it gave up, so its connection slot serves the retry', async () => {
    // One slot, as a source with maxConcurrency 1: a stream left open after a failed commit would
    // hold it for ever, and the retry of the file (and every later request) would wait for it.
    const { client } = fakeSource(1);
    const { ctx, progress } = context(client, 2);
    const outcome = await Promise.race([
      runBulkExport(ctx).then(() => 'done'),
      new Promise<string>((resolve) => setTimeout(() => resolve('stuck'), 5_000).unref()),
    ]);
    expect(outcome).toBe('done');
    expect(isComplete(progress())).toBe(true);
    expect(totalsOf(progress()).read).toBe(FILES * LINES);
  });
});

describe('runBulkExport batch bounds', () => {
  // Lines of ~3 KB: `batchSize` would let 100 of them (~300 KB) into one batch.
  const PADDING = 3_000;
  const LINES_PER_FILE = 40;
  const payloadBytes = (b: Batch): number[] =>
    b.messages.map((m) => (m.value as { sizeBytes: number }).sizeBytes);

  it('produces a batch before its resources would pass batchMaxBytes, whatever batchSize allows', async () => {
    const { client } = fakeSource(1, LINES_PER_FILE, PADDING);
    const maxBytes = 10_000;
    const { ctx, progress, committed } = context(client, 0, { batchSize: 100, batchMaxBytes: maxBytes });
    await runBulkExport(ctx);
    expect(isComplete(progress())).toBe(true);
    expect(totalsOf(progress()).produced).toBe(FILES * LINES_PER_FILE);
    const sizes = committed.filter((b) => b.messages.length > 0).map(payloadBytes);
    // Every resource was produced, each once.
    expect(sizes.flat()).toHaveLength(FILES * LINES_PER_FILE);
    const line = sizes[0]?.[0] ?? 0;
    for (const batch of sizes) {
      // No batch goes past the bound, and each but a file's last is full: one more line would.
      expect(batch.reduce((a, n) => a + n, 0)).toBeLessThanOrEqual(maxBytes);
      expect(batch.length).toBeLessThan(100);
    }
    const notFull = sizes.filter((batch) => batch.reduce((a, n) => a + n, 0) + line <= maxBytes);
    expect(notFull.length).toBeLessThanOrEqual(FILES);
    expect(sizes.length).toBeGreaterThan(FILES * 5);
    // Each batch's counter of bytes is what its envelopes carry.
    for (const b of committed) expect(b.bytes).toBe(payloadBytes(b).reduce((a, n) => a + n, 0));
  });

  it('fills a batch to batchSize when its resources stay under batchMaxBytes', async () => {
    const { client } = fakeSource(1, LINES_PER_FILE, 10);
    const { ctx, committed } = context(client, 0, { batchSize: 8, batchMaxBytes: 1024 * 1024 });
    await runBulkExport(ctx);
    const counts = committed.filter((b) => b.messages.length > 0).map((b) => b.messages.length);
    expect(counts).toEqual(Array.from({ length: FILES * (LINES_PER_FILE / 8) }, () => 8));
  });

  it('sends a resource larger than batchMaxBytes in a batch of its own', async () => {
    const { client } = fakeSource(1, 6, PADDING);
    const { ctx, progress, committed } = context(client, 0, { batchSize: 100, batchMaxBytes: 1_024 });
    await runBulkExport(ctx);
    expect(totalsOf(progress()).produced).toBe(FILES * 6);
    const counts = committed.filter((b) => b.messages.length > 0).map((b) => b.messages.length);
    expect(counts).toEqual(Array.from({ length: FILES * 6 }, () => 1));
  });
});
