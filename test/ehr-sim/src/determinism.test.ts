import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { uniformPerPatient } from './dataset.ts';
import { ExportJobs } from './export-jobs.ts';
import { ResourceGenerator } from './generator.ts';
import { fileLines, ndjsonBody } from './ndjson-body.ts';
import type { FaultsInput } from './faults.ts';
import { createSimulator } from './simulator.ts';
import { pathOf, runExport, SECRET_CLIENT, secretToken } from './testing/export.ts';

/** sha256 over every output file of a full export, in manifest order. */
async function exportDigest(
  seed: string,
  options: { keepLines?: boolean; faults?: FaultsInput } = {},
): Promise<{ digest: string; files: number; patients: string[]; served: number }> {
  const sim = createSimulator({
    seed,
    patientsPerSite: 25,
    resourcesPerPatient: 2,
    clients: [SECRET_CLIENT],
    export: { maxResourcesPerFile: 20 },
    ...(options.faults === undefined ? {} : { faults: options.faults }),
  });
  if (options.keepLines === true) expect(sim.generator.keepLines(['site-a'])).toBeGreaterThan(25 * 2);
  try {
    const token = await secretToken(sim);
    const { manifest } = await runExport(sim, token, '/site-a/fhir/$export');
    const hash = createHash('sha256');
    const patients: string[] = [];
    for (const file of manifest.output) {
      const res = await sim.app.inject({
        url: pathOf(file.url),
        headers: { authorization: `Bearer ${token}` },
      });
      hash.update(`${file.type}:${file.count}\n`).update(res.rawPayload);
      if (file.type === 'Patient') patients.push(...res.payload.split('\n').filter((l) => l !== ''));
    }
    const served = sim.counters().resourcesServed;
    return { digest: hash.digest('hex'), files: manifest.output.length, patients, served };
  } finally {
    await sim.stop();
  }
}

describe('determinism and memory', () => {
  it('serves the same bytes for the same seed, different bytes for another seed', async () => {
    const first = await exportDigest('seed-one');
    const again = await exportDigest('seed-one');
    const other = await exportDigest('seed-two');
    expect(first.files).toBeGreaterThan(7);
    expect(again.digest).toBe(first.digest);
    expect(other.digest).not.toBe(first.digest);
  });

  it('serves the same bytes and counts with its lines kept, drift applied to kept lines too', async () => {
    const rendered = await exportDigest('seed-one');
    const kept = await exportDigest('seed-one', { keepLines: true });
    expect(kept).toEqual(rendered);
    expect(kept.served).toBeGreaterThan(25 * 2);

    const drift = {
      resourceType: 'Patient',
      field: 'birthDate',
      mode: 'rename',
      to: 'dateOfBirth',
      after: 0,
    } as const;
    const drifted = await exportDigest('seed-one', { keepLines: true, faults: { drift } });
    expect(drifted.digest).not.toBe(rendered.digest);
    expect(drifted.served).toBe(rendered.served);
    expect(drifted.patients).toHaveLength(rendered.patients.length);
    for (const line of drifted.patients) {
      const patient = JSON.parse(line) as Record<string, unknown>;
      expect(patient).not.toHaveProperty('birthDate');
      expect(patient).toHaveProperty('dateOfBirth');
    }
  });

  it('streams 200k generated resources with bounded heap growth', async () => {
    const total = 200_000;
    const generator = new ResourceGenerator(
      {
        seed: 'memory',
        patientsPerSite: total / 2,
        perPatient: uniformPerPatient(2),
        epochMs: Date.UTC(2025, 0, 1),
        historyMs: 365 * 86_400_000,
        deletedFraction: 0,
      },
      ['site-a'],
    );
    const jobs = new ExportJobs(generator, {
      pollsBeforeReady: 0,
      readyAfterMs: 0,
      retryAfterSeconds: 1,
      maxResourcesPerFile: total,
      fileTtlMs: 60_000,
    });
    const job = jobs.start(
      {
        site: 'site-a',
        requestUrl: 'x',
        origin: 'http://sim',
        types: ['Observation'],
        sinceMs: undefined,
        patients: [0, total / 2],
      },
      0,
    );
    for (let i = 0; i < 1000 && job.files === undefined; i++)
      await new Promise((resolve) => setImmediate(resolve));
    const file = job.files?.[0];
    if (file === undefined) throw new Error('export was not planned');
    expect(file.count).toBe(total);

    const before = process.memoryUsage().heapUsed;
    let peak = before;
    let bytes = 0;
    let lines = 0;
    let chunks = 0;
    for await (const chunk of ndjsonBody(fileLines(generator, job, file), {
      lineCount: file.count,
      fault: undefined,
    })) {
      bytes += chunk.length;
      for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) lines++;
      if (++chunks % 50 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
    }
    const growthMb = (peak - before) / 1024 / 1024;
    console.log(
      `streamed ${lines} resources, ${(bytes / 1024 / 1024).toFixed(1)} MiB; peak heap growth ${growthMb.toFixed(1)} MiB`,
    );
    expect(lines).toBe(total);
    // Holding the output would need > 200 MiB; streaming stays far below.
    expect(bytes / 1024 / 1024).toBeGreaterThan(150);
    expect(growthMb).toBeLessThan(96);
    jobs.close();
  });
});
