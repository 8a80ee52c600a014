import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSimulator, type Canary, type FaultsInput, type Simulator } from '@ehrflow/ehr-sim';
import { RESOURCE_TYPES } from './topic-names.ts';

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
  /**
   * Share of clinical resources the EHR reports as deleted (in `_since` exports only; a plain
   * export leaves them out). Default 0, so a backfill's expected count is the dataset's count.
   */
  readonly deletedFraction?: number;
  /**
   * Render every resource before serving and keep the lines (benchmarks): downloads then cost the
   * EHR what a real server's stored export files cost it, not the building of synthetic data.
   */
  readonly keepLines?: boolean;
}

export interface EhrSetup {
  readonly sim: Simulator;
  readonly url: string;
  readonly sourcesFile: string;
  /** Extractor source id per simulator site. */
  readonly sourceIds: ReadonlyMap<string, string>;
  /** Resources of every type per source id, deleted ones included (none are, by default). */
  readonly expectedPerSource: ReadonlyMap<string, number>;
  stop(): Promise<void>;
  /** Registers a site's client again with its secret, undoing a revocation (`sim.revoke`). */
  reinstate(clientId: string): void;
  /**
   * Stops this EHR and starts it again on the same address with the same data, clients and
   * secrets (so the sources file stays valid), changed as given: e.g. a `deletedFraction` that
   * makes resources the first one served deleted — what a `_since` export after a backfill reports.
   */
  restart(changes: Pick<EhrSetupOptions, 'deletedFraction'>): Promise<EhrSetup>;
}

/**
 * Starts the simulated EHR in this process and writes the extractor's sources file for it: one
 * source per site, each with its own client (client secret in a file next to the sources file).
 * Deleted resources are off unless `deletedFraction` says otherwise, so that a backfill's
 * expected count is the dataset's count.
 */
export async function startEhr(options: EhrSetupOptions): Promise<EhrSetup> {
  await mkdir(options.dir, { recursive: true });
  const clients = options.sites.map((site) => ({
    site,
    clientId: `ehrflow-${site}`,
    secret: randomBytes(24).toString('base64url'),
  }));
  return serve(options, clients, 0);
}

interface EhrClient {
  readonly site: string;
  readonly clientId: string;
  readonly secret: string;
}

async function serve(
  options: EhrSetupOptions,
  clients: readonly EhrClient[],
  port: number,
): Promise<EhrSetup> {
  const sim = createSimulator({
    seed: options.seed,
    sites: options.sites,
    patientsPerSite: options.patientsPerSite,
    deletedFraction: options.deletedFraction ?? 0,
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
  if (options.keepLines === true) sim.generator.keepLines(options.sites);
  const url = await sim.start(port);
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
      resourceTypes: [...RESOURCE_TYPES],
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
  return {
    sim,
    url,
    sourcesFile,
    sourceIds,
    expectedPerSource,
    stop: () => sim.stop(),
    reinstate(clientId) {
      const client = clients.find((c) => c.clientId === clientId);
      if (client !== undefined) sim.registerClient({ clientId: client.clientId, secret: client.secret });
    },
    async restart(changes) {
      await sim.stop();
      return serve({ ...options, ...changes }, clients, Number(new URL(url).port));
    },
  };
}
