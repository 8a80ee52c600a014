import type { ClientRegistration } from './auth.ts';
import { uniformPerPatient, type DatasetShape } from './dataset.ts';
import type { FaultsInput } from './faults.ts';
import type { Canary } from './identity.ts';
import type { RateLimitOptions } from './rate-limiter.ts';
import { CLINICAL_TYPES, type ClinicalType } from './resource-types.ts';

/** Bulk Data behaviour of every site. */
export interface ExportOptions {
  /** Status polls answered 202 before the manifest is offered. */
  readonly pollsBeforeReady: number;
  /** Minimum time between kick-off and a ready manifest. */
  readonly readyAfterMs: number;
  /** Retry-After (seconds) sent with each 202 status answer. */
  readonly retryAfterSeconds: number;
  /** Output files are split so none holds more resources than this. */
  readonly maxResourcesPerFile: number;
  /** Files (and the status URL) disappear this long after the export completed. */
  readonly fileTtlMs: number;
}

/** A patient group exportable via Group/<id>/$export: patients [from, to) of every site. */
export interface GroupDefinition {
  readonly id: string;
  readonly from?: number;
  readonly to?: number;
}

/** The one method the simulator calls on an injected logger (pino-compatible). */
export interface RequestLogger {
  info(fields: Record<string, string | number>, message: string): void;
}

/** Options of createSimulator; every field is optional. */
export interface SimulatorOptions {
  /** Seed of all generated data and fault decisions. Default `ehrflow`. */
  readonly seed?: string | number;
  /** Site ids (lower-case letters, digits, dashes). Default `['site-a', 'site-b']`. */
  readonly sites?: readonly string[];
  /** Patients per site. Default 100. */
  readonly patientsPerSite?: number;
  /** Resources of each clinical type per patient: one number for all or per type. Default 2. */
  readonly resourcesPerPatient?: number | Partial<Record<ClinicalType, number>>;
  /** Newest meta.lastUpdated of any resource (ISO instant). Default `2025-01-01T00:00:00Z`. */
  readonly dataEpoch?: string;
  /** lastUpdated values spread over this many days before dataEpoch. Default 365. */
  readonly historyDays?: number;
  /** Share of clinical resources that are deleted (reported in `_since` exports). Default 0.02. */
  readonly deletedFraction?: number;
  /** Values planted in chosen patients for leak scans. */
  readonly canaries?: readonly Canary[];
  /** Clients registered at start. */
  readonly clients?: readonly ClientRegistration[];
  /** Access token lifetime in seconds (>= 1). Default 300. */
  readonly tokenLifetimeSeconds?: number;
  /**
   * Enforced per-client rate limit. Default 600 requests per 60 s, sliding window, published as
   * enforced, 429s carrying the real wait.
   */
  readonly rateLimit?: Partial<RateLimitOptions>;
  readonly export?: Partial<ExportOptions>;
  /** Groups for Group/<id>/$export. Default one group `all` with every patient. */
  readonly groups?: readonly GroupDefinition[];
  /** Faults active from the start. */
  readonly faults?: FaultsInput;
  /** Interface to listen on. Default 127.0.0.1. */
  readonly host?: string;
  /**
   * Request logging: false (default, silent), true (fastify's own pino to stdout), or a logger
   * such as `createLogger({ name: 'ehr-sim' })` from @ehrflow/logging (the CLI does that), which
   * gets one line per request with method, route pattern, status and duration only.
   */
  readonly logger?: boolean | RequestLogger;
  /** Clock in ms since epoch; tests inject one to expire tokens and files without waiting. */
  readonly now?: () => number;
}

export interface ResolvedOptions {
  readonly seed: string;
  readonly sites: readonly string[];
  readonly shape: DatasetShape;
  readonly canaries: readonly Canary[];
  readonly clients: readonly ClientRegistration[];
  readonly tokenLifetimeSeconds: number;
  readonly rateLimit: RateLimitOptions;
  readonly export: ExportOptions;
  readonly groups: readonly Required<GroupDefinition>[];
  readonly faults: FaultsInput;
  readonly host: string;
  readonly logger: boolean | RequestLogger;
  readonly now: () => number;
}

export const DEFAULT_SITES = ['site-a', 'site-b'] as const;
const SITE_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Applies defaults and validates; throws RangeError naming the bad option. */
export function resolveOptions(options: SimulatorOptions = {}): ResolvedOptions {
  const sites = [...(options.sites ?? DEFAULT_SITES)];
  if (sites.length === 0) throw new RangeError('sites must not be empty');
  for (const site of sites)
    if (!SITE_PATTERN.test(site)) throw new RangeError(`site id ${site} must match ${SITE_PATTERN.source}`);
  if (new Set(sites).size !== sites.length) throw new RangeError('site ids must be unique');
  const patientsPerSite = int(options.patientsPerSite, 'patientsPerSite', 100, 1, 1e9);
  const epochMs = Date.parse(options.dataEpoch ?? '2025-01-01T00:00:00Z');
  if (Number.isNaN(epochMs)) throw new RangeError('dataEpoch must be an ISO instant');
  const canaries = options.canaries ?? [];
  for (const [i, canary] of canaries.entries()) {
    if (!sites.includes(canary.site)) throw new RangeError(`canaries[${i}].site is not a configured site`);
    int(canary.patientIndex, `canaries[${i}].patientIndex`, 0, 0, patientsPerSite - 1);
  }
  const groups = (options.groups ?? [{ id: 'all' }]).map((g, i) => {
    if (!/^[A-Za-z0-9.-]{1,64}$/.test(g.id)) throw new RangeError(`groups[${i}].id must be a FHIR id`);
    const from = int(g.from, `groups[${i}].from`, 0, 0, patientsPerSite);
    return { id: g.id, from, to: int(g.to, `groups[${i}].to`, patientsPerSite, from, patientsPerSite) };
  });
  const rl = options.rateLimit ?? {};
  if (rl.window !== undefined && rl.window !== 'fixed' && rl.window !== 'sliding')
    throw new RangeError('rateLimit.window must be fixed or sliding');
  const ex = options.export ?? {};
  return {
    seed: String(options.seed ?? 'ehrflow'),
    sites,
    shape: {
      seed: String(options.seed ?? 'ehrflow'),
      patientsPerSite,
      perPatient: perPatient(options.resourcesPerPatient),
      epochMs,
      historyMs: int(options.historyDays, 'historyDays', 365, 1, 36_500) * 86_400_000,
      deletedFraction: num(options.deletedFraction, 'deletedFraction', 0.02, 0, 1),
    },
    canaries,
    clients: options.clients ?? [],
    tokenLifetimeSeconds: int(options.tokenLifetimeSeconds, 'tokenLifetimeSeconds', 300, 1, 86_400),
    rateLimit: {
      limit: int(rl.limit, 'rateLimit.limit', 600, 0, 1e9),
      windowMs: int(rl.windowMs, 'rateLimit.windowMs', 60_000, 1, 86_400_000),
      window: rl.window ?? 'sliding',
      publishedLimit: int(rl.publishedLimit, 'rateLimit.publishedLimit', 0, 0, 1e9),
      retryAfterHintSeconds: int(rl.retryAfterHintSeconds, 'rateLimit.retryAfterHintSeconds', 0, 0, 86_400),
    },
    export: {
      pollsBeforeReady: int(ex.pollsBeforeReady, 'export.pollsBeforeReady', 2, 0, 1e6),
      readyAfterMs: int(ex.readyAfterMs, 'export.readyAfterMs', 0, 0, 86_400_000),
      retryAfterSeconds: int(ex.retryAfterSeconds, 'export.retryAfterSeconds', 1, 0, 86_400),
      maxResourcesPerFile: int(ex.maxResourcesPerFile, 'export.maxResourcesPerFile', 1000, 1, 1e9),
      fileTtlMs: int(ex.fileTtlMs, 'export.fileTtlMs', 3_600_000, 1, 30 * 86_400_000),
    },
    groups,
    faults: options.faults ?? {},
    host: options.host ?? '127.0.0.1',
    logger: options.logger ?? false,
    now: options.now ?? Date.now,
  };
}

function perPatient(value: SimulatorOptions['resourcesPerPatient']): Record<ClinicalType, number> {
  if (value === undefined || typeof value === 'number')
    return uniformPerPatient(int(value, 'resourcesPerPatient', 2, 0, 10_000));
  const out = uniformPerPatient(0);
  for (const type of CLINICAL_TYPES)
    out[type] = int(value[type], `resourcesPerPatient.${type}`, 0, 0, 10_000);
  return out;
}

function num(value: number | undefined, name: string, fallback: number, min: number, max: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
    throw new RangeError(`${name} must be a number in [${min}, ${max}]`);
  return v;
}

function int(value: number | undefined, name: string, fallback: number, min: number, max: number): number {
  const v = num(value, name, fallback, min, max);
  if (!Number.isInteger(v)) throw new RangeError(`${name} must be an integer`);
  return v;
}
