import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSimulator, type Canary, type FaultsInput, type Simulator } from '@ehrflow/ehr-sim';

export interface EhrSetupOptions {
  readonly seed: string;
  readonly sites: readonly string[];
  readonly patientsPerSite: number;
  readonly canaries?: readonly Canary[];
  readonly faults?: FaultsInput;
  /** What the simulated EHR enforces per client (0: off). */
  readonly enforcedPerMinute: number;
  /** What the extractor is told the limit is (the EHR's documentation). */
  readonly publishedPerMinute: number;
  readonly tokenLifetimeSeconds: number;
  /** Prefix of the extractor's source ids: rows are keyed by source, so a fresh prefix gives a fresh load. */
  readonly sourcePrefix: string;
  /** Folder for the sources file and the client secrets. */
  readonly dir: string;
  readonly maxConcurrency?: number;
  readonly maxResourcesPerFile?: number;
}

export interface EhrSetup {
  readonly sim: Simulator;
  readonly url: string;
  readonly sourcesFile: string;
  /** Extractor source id per simulator site. */
  readonly sourceIds: ReadonlyMap<string, string>;
  /** Resources an export of every type serves, per source id (deleted resources are off). */
  readonly expectedPerSource: ReadonlyMap<string, number>;
  stop(): Promise<void>;
}

/**
 * Starts the simulated EHR in this process and writes the extractor's sources file for it: one
 * source per site, each with its own client (client secret in a file next to the sources file).
 * Deleted resources are turned off so that a backfill's expected count is the dataset's count.
 */
export async function startEhr(options: EhrSetupOptions): Promise<EhrSetup> {
  await mkdir(options.dir, { recursive: true });
  const clients = options.sites.map((site) => ({
    site,
    clientId: `ehrflow-${site}`,
    secret: randomBytes(24).toString('base64url'),
  }));
  const sim = createSimulator({
    seed: options.seed,
    sites: options.sites,
    patientsPerSite: options.patientsPerSite,
    deletedFraction: 0,
    canaries: options.canaries ?? [],
    clients: clients.map((c) => ({ clientId: c.clientId, secret: c.secret })),
    tokenLifetimeSeconds: options.tokenLifetimeSeconds,
    rateLimit: { limit: options.enforcedPerMinute, windowMs: 60_000, window: 'sliding' },
    export: {
      maxResourcesPerFile: options.maxResourcesPerFile ?? 1000,
      pollsBeforeReady: 1,
      retryAfterSeconds: 1,
    },
    faults: options.faults ?? {},
  });
  const url = await sim.start(0);
  const sourceIds = new Map<string, string>();
  const sources = [];
  for (const c of clients) {
    const id = `${options.sourcePrefix}${c.site}`;
    sourceIds.set(c.site, id);
    const secretFile = `${c.clientId}.secret`;
    await writeFile(join(options.dir, secretFile), c.secret, { mode: 0o600 });
    sources.push({
      id,
      baseUrl: sim.fhirBase(c.site),
      tokenUrl: sim.tokenUrl(c.site),
      clientId: c.clientId,
      auth: { method: 'secret', secretFile },
      rateLimitPerMinute: options.publishedPerMinute,
      maxConcurrency: options.maxConcurrency ?? 4,
      resourceTypes: [
        'Patient',
        'Encounter',
        'Observation',
        'Condition',
        'MedicationRequest',
        'AllergyIntolerance',
        'Procedure',
      ],
    });
  }
  const sourcesFile = join(options.dir, 'sources.json');
  await writeFile(sourcesFile, `${JSON.stringify({ sources }, null, 2)}\n`, { mode: 0o600 });

  const dataset = await sim.app.inject({ method: 'GET', url: '/_admin/dataset' });
  const shape = JSON.parse(dataset.body) as { sites: { site: string; counts: Record<string, number> }[] };
  const expectedPerSource = new Map<string, number>();
  for (const { site, counts } of shape.sites) {
    const id = sourceIds.get(site);
    if (id !== undefined)
      expectedPerSource.set(
        id,
        Object.values(counts).reduce((a, b) => a + b, 0),
      );
  }
  return { sim, url, sourcesFile, sourceIds, expectedPerSource, stop: () => sim.stop() };
}
