import type { FhirResource } from './clinical-resources.ts';
import { hashString, Rng } from './prng.ts';
import { isResourceType, type ResourceType } from './resource-types.ts';

/** How 429 and 503 answers phrase `Retry-After`. `absurd` asks for 86400000 seconds (1000 days). */
/**
 * Retry-After forms: delta-seconds, an HTTP date, an absurd number of seconds, or (seen on real
 * gateways, against RFC 9110) the Unix time in seconds at which to retry.
 */
export type RetryAfterMode = 'seconds' | 'http-date' | 'absurd' | 'epoch';

export const ABSURD_RETRY_AFTER_SECONDS = 86_400_000;

/**
 * A schema change that starts after `after` records of `resourceType` were served:
 * `rename` moves `field` to `to`, `retype` turns a string into a number (its digits) and anything
 * else into a string, `remove` drops the field. Only top-level fields.
 */
export interface DriftRule {
  readonly resourceType: ResourceType;
  readonly after: number;
  readonly mode: 'rename' | 'retype' | 'remove';
  readonly field: string;
  /** New name for `rename`. */
  readonly to?: string;
}

/** Fault knobs. All off in NO_FAULTS; change them at start or any time with setFaults. */
export interface Faults {
  /** Added to every non-admin request: fixedMs plus a seeded random share of randomMs. */
  readonly latency: { readonly fixedMs: number; readonly randomMs: number };
  /** Probability that an NDJSON file download has its connection destroyed mid-body. */
  readonly resetProbability: number;
  /** Probability that an NDJSON file download ends cleanly but in the middle of a line. */
  readonly truncateProbability: number;
  /**
   * Every `every`-th request starts a burst of `burst` answers with `status` (0 = off): a 5xx, or
   * 429 (throttling the published limit does not predict). 429 and 503 carry `Retry-After`.
   */
  readonly serverErrors: { readonly every: number; readonly burst: number; readonly status: number };
  /** Extra delay before each bulk status poll answers. */
  readonly statusPollDelayMs: number;
  /**
   * A slow hospital link: NDJSON lines served per second across all downloads together (0 = as
   * fast as possible). Paces the pipeline's input, e.g. for a latency measurement at a set rate.
   */
  readonly servedLinesPerSecond: number;
  /** Retry-After form on 429 and 503. */
  readonly retryAfter: RetryAfterMode;
  /** Completed exports list an OperationOutcome NDJSON file under `error`. */
  readonly exportErrorFile: boolean;
  /**
   * Exports completed while set leave out the output files of these types and list one
   * OperationOutcome per missing file under `error` instead (a server that failed part of the job).
   */
  readonly failedExportTypes: readonly ResourceType[];
  /**
   * A server that renders NDJSON on the fly: every file request stamps each resource with a fresh
   * `meta.source` of varying length, so the bytes of a file differ from one request to the next.
   */
  readonly volatileFileBytes: boolean;
  /** Which validator file downloads carry (and `If-Range` is checked against). */
  readonly fileValidators: FileValidators;
  /**
   * Exports completed while set list resources more than once: each output file after the first of
   * its type starts with the last resource of the previous one, and `deleted` files hold Bundles of
   * up to three DELETE entries (`Type/id`, absolute and `_history` URL forms) that repeat the last
   * entry of the Bundle before.
   */
  readonly repeatResources: boolean;
  /** Added to the `count` of every output file of exports completed while set (a miscounting server). */
  readonly manifestCountSkew: number;
  /**
   * A server holding large resources (documents with inline attachments, long narratives): served
   * resources of `resourceType` (any type when null) whose id hashes to a multiple of `every` carry
   * a generated narrative (`text.div`) that makes their NDJSON line `bytes` long. Chosen by id, so
   * every download and ranged resume serves the same bytes. `every` 0 is off.
   */
  readonly largeResources: LargeResources;
  readonly drift: readonly DriftRule[];
}

export interface LargeResources {
  readonly resourceType: ResourceType | null;
  readonly every: number;
  readonly bytes: number;
}

/** `etag`: a strong ETag per rendering; `last-modified`: the export's completion time; `none`. */
export type FileValidators = 'etag' | 'last-modified' | 'none';

/** What setFaults accepts: any subset; `drift` may be one rule, a list, or null to clear. */
export type FaultsInput = Partial<Omit<Faults, 'latency' | 'serverErrors' | 'drift' | 'largeResources'>> & {
  readonly latency?: Partial<Faults['latency']>;
  readonly largeResources?: Partial<LargeResources>;
  readonly serverErrors?: Partial<Faults['serverErrors']>;
  readonly drift?: DriftRule | readonly DriftRule[] | null;
  /** Client ids to revoke as part of this fault change. */
  readonly revoke?: readonly string[];
};

export const NO_FAULTS: Faults = {
  latency: { fixedMs: 0, randomMs: 0 },
  resetProbability: 0,
  truncateProbability: 0,
  serverErrors: { every: 0, burst: 1, status: 503 },
  statusPollDelayMs: 0,
  servedLinesPerSecond: 0,
  retryAfter: 'seconds',
  exportErrorFile: false,
  failedExportTypes: [],
  volatileFileBytes: false,
  fileValidators: 'etag',
  repeatResources: false,
  manifestCountSkew: 0,
  largeResources: { resourceType: null, every: 0, bytes: 0 },
  drift: [],
};

/** A fault that breaks one file download: after `line` complete lines, send part of the next. */
export type FileFault = { readonly kind: 'reset' | 'truncate'; readonly atFraction: number } | undefined;

/**
 * Holds the active faults and the seeded randomness that decides when they fire, so a run with
 * the same seed and the same request order injects the same faults.
 */
export class FaultInjector {
  private current: Faults;
  private readonly rng: Rng;
  private requestCount = 0;
  private burstLeft = 0;
  private driftSeen: number[] = [];

  constructor(seed: string, initial: FaultsInput = {}) {
    this.rng = new Rng(hashString(`${seed}\u0000faults`));
    this.current = NO_FAULTS;
    this.set(initial);
  }

  get faults(): Faults {
    return this.current;
  }

  /** Merges a validated partial into the active faults. Drift rules given here start counting at 0. */
  set(input: FaultsInput): Faults {
    const next = mergeFaults(this.current, input);
    if (input.drift !== undefined) this.driftSeen = next.drift.map(() => 0);
    this.current = next;
    return next;
  }

  clear(): void {
    this.current = NO_FAULTS;
    this.driftSeen = [];
    this.burstLeft = 0;
  }

  /** Latency to add to the next request. */
  latencyMs(): number {
    const { fixedMs, randomMs } = this.current.latency;
    return fixedMs + (randomMs > 0 ? Math.floor(this.rng.next() * randomMs) : 0);
  }

  /** Status of an injected 5xx for the next request, or undefined. */
  nextServerError(): number | undefined {
    const { every, burst, status } = this.current.serverErrors;
    if (every <= 0) return undefined;
    this.requestCount++;
    if (this.requestCount % every === 0) this.burstLeft = burst;
    if (this.burstLeft <= 0) return undefined;
    this.burstLeft--;
    return status;
  }

  /** Decides whether the next file download breaks, and where. */
  fileFault(): FileFault {
    const atFraction = 0.1 + 0.8 * this.rng.next();
    if (this.current.resetProbability > 0 && this.rng.chance(this.current.resetProbability))
      return { kind: 'reset', atFraction };
    if (this.current.truncateProbability > 0 && this.rng.chance(this.current.truncateProbability)) {
      return { kind: 'truncate', atFraction };
    }
    return undefined;
  }

  /** The Retry-After header value for a wait, in the active form. */
  retryAfterValue(waitSeconds: number, nowMs: number): string {
    const seconds = Math.max(1, Math.ceil(waitSeconds));
    switch (this.current.retryAfter) {
      case 'seconds':
        return String(seconds);
      case 'http-date':
        return new Date(nowMs + seconds * 1000).toUTCString();
      case 'absurd':
        return String(ABSURD_RETRY_AFTER_SECONDS);
      case 'epoch':
        return String(Math.floor(nowMs / 1000) + seconds);
    }
  }

  /**
   * Whether a drift rule or the large-resources fault names the resource type (its resources must
   * go through {@link drift}).
   */
  drifts(resourceType: string): boolean {
    const large = this.current.largeResources;
    return (
      this.current.drift.some((rule) => rule.resourceType === resourceType) ||
      (large.every > 0 && (large.resourceType === null || large.resourceType === resourceType))
    );
  }

  /** The resource with the large-resources fault applied, or undefined when it does not pick it. */
  enlarge(resource: FhirResource): FhirResource | undefined {
    const { resourceType, every, bytes } = this.current.largeResources;
    if (every <= 0 || (resourceType !== null && resourceType !== resource.resourceType)) return undefined;
    if (hashString(String(resource.id)) % every !== 0) return undefined;
    const open = '<div xmlns="http://www.w3.org/1999/xhtml">';
    const bare = JSON.stringify({ ...resource, text: { status: 'generated', div: `${open}</div>` } });
    const filler = 'Lorem ipsum dolor sit amet. '
      .repeat(Math.ceil(bytes / 28))
      .slice(0, Math.max(0, bytes - bare.length));
    return { ...resource, text: { status: 'generated', div: `${open}${filler}</div>` } };
  }

  /** Counts a served resource against the drift rules and returns it, drifted when a rule has fired. */
  drift(resource: FhirResource): { resource: FhirResource; drifted: boolean } {
    let out = resource;
    let drifted = false;
    this.current.drift.forEach((rule, i) => {
      if (rule.resourceType !== resource.resourceType) return;
      const seen = (this.driftSeen[i] ?? 0) + 1;
      this.driftSeen[i] = seen;
      if (seen <= rule.after || !(rule.field in out)) return;
      out = applyDrift(out, rule);
      drifted = true;
    });
    return { resource: out, drifted };
  }
}

function applyDrift(resource: FhirResource, rule: DriftRule): FhirResource {
  const { [rule.field]: value, ...rest } = resource;
  switch (rule.mode) {
    case 'rename':
      return { ...rest, [rule.to ?? `${rule.field}Renamed`]: value } as FhirResource;
    case 'retype':
      return { ...resource, [rule.field]: retype(value) };
    case 'remove':
      return rest as FhirResource;
  }
}

function retype(value: unknown): unknown {
  if (typeof value === 'string') return Number(value.replace(/\D/g, '') || '0');
  return JSON.stringify(value);
}

/** Validates a partial fault set (from code or JSON) and merges it. Throws RangeError naming the field. */
export function mergeFaults(current: Faults, input: unknown): Faults {
  const obj = record(input, 'faults');
  const known = new Set([
    'latency',
    'resetProbability',
    'truncateProbability',
    'serverErrors',
    'statusPollDelayMs',
    'servedLinesPerSecond',
    'retryAfter',
    'exportErrorFile',
    'failedExportTypes',
    'volatileFileBytes',
    'fileValidators',
    'repeatResources',
    'manifestCountSkew',
    'largeResources',
    'drift',
    'revoke',
  ]);
  for (const key of Object.keys(obj))
    if (!known.has(key)) throw new RangeError(`faults.${key} is not a known fault`);
  const latency = obj.latency === undefined ? {} : record(obj.latency, 'faults.latency');
  const bursts = obj.serverErrors === undefined ? {} : record(obj.serverErrors, 'faults.serverErrors');
  const large = obj.largeResources === undefined ? {} : record(obj.largeResources, 'faults.largeResources');
  const largeType = large.resourceType;
  if (
    largeType !== undefined &&
    largeType !== null &&
    (typeof largeType !== 'string' || !isResourceType(largeType))
  )
    throw new RangeError('faults.largeResources.resourceType must be a served resource type or null');
  const status =
    optInteger(bursts.status, 'faults.serverErrors.status', 429, 599) ?? current.serverErrors.status;
  // 429: a gateway throttling in bursts, whatever the published limit says.
  if (status !== 429 && status < 500)
    throw new RangeError('faults.serverErrors.status must be 429 or in [500, 599]');
  return {
    latency: {
      fixedMs: optNumber(latency.fixedMs, 'faults.latency.fixedMs', 0, 600_000) ?? current.latency.fixedMs,
      randomMs:
        optNumber(latency.randomMs, 'faults.latency.randomMs', 0, 600_000) ?? current.latency.randomMs,
    },
    resetProbability:
      optNumber(obj.resetProbability, 'faults.resetProbability', 0, 1) ?? current.resetProbability,
    truncateProbability:
      optNumber(obj.truncateProbability, 'faults.truncateProbability', 0, 1) ?? current.truncateProbability,
    serverErrors: {
      every:
        optInteger(bursts.every, 'faults.serverErrors.every', 0, Number.MAX_SAFE_INTEGER) ??
        current.serverErrors.every,
      burst:
        optInteger(bursts.burst, 'faults.serverErrors.burst', 1, Number.MAX_SAFE_INTEGER) ??
        current.serverErrors.burst,
      status,
    },
    statusPollDelayMs:
      optNumber(obj.statusPollDelayMs, 'faults.statusPollDelayMs', 0, 600_000) ?? current.statusPollDelayMs,
    servedLinesPerSecond:
      optNumber(obj.servedLinesPerSecond, 'faults.servedLinesPerSecond', 0, 10_000_000) ??
      current.servedLinesPerSecond,
    retryAfter:
      optEnum(obj.retryAfter, 'faults.retryAfter', ['seconds', 'http-date', 'absurd', 'epoch'] as const) ??
      current.retryAfter,
    exportErrorFile: optBoolean(obj.exportErrorFile, 'faults.exportErrorFile') ?? current.exportErrorFile,
    failedExportTypes:
      obj.failedExportTypes === undefined ? current.failedExportTypes : parseTypes(obj.failedExportTypes),
    volatileFileBytes:
      optBoolean(obj.volatileFileBytes, 'faults.volatileFileBytes') ?? current.volatileFileBytes,
    fileValidators:
      optEnum(obj.fileValidators, 'faults.fileValidators', ['etag', 'last-modified', 'none'] as const) ??
      current.fileValidators,
    repeatResources: optBoolean(obj.repeatResources, 'faults.repeatResources') ?? current.repeatResources,
    manifestCountSkew:
      optInteger(obj.manifestCountSkew, 'faults.manifestCountSkew', -1000, 1000) ?? current.manifestCountSkew,
    largeResources: {
      resourceType: largeType === undefined ? current.largeResources.resourceType : largeType,
      every:
        optInteger(large.every, 'faults.largeResources.every', 0, Number.MAX_SAFE_INTEGER) ??
        current.largeResources.every,
      bytes:
        optInteger(large.bytes, 'faults.largeResources.bytes', 0, 64 * 1024 * 1024) ??
        current.largeResources.bytes,
    },
    drift: obj.drift === undefined ? current.drift : parseDrift(obj.drift),
  };
}

function parseTypes(value: unknown): ResourceType[] {
  if (
    !Array.isArray(value) ||
    !value.every((t): t is ResourceType => typeof t === 'string' && isResourceType(t))
  )
    throw new RangeError('faults.failedExportTypes must be a list of served resource types');
  return value;
}

function parseDrift(value: unknown): DriftRule[] {
  if (value === null) return [];
  const list = Array.isArray(value) ? (value as unknown[]) : [value];
  return list.map((item, i) => {
    const path = `faults.drift[${i}]`;
    const rule = record(item, path);
    const resourceType = rule.resourceType;
    if (typeof resourceType !== 'string' || !isResourceType(resourceType))
      throw new RangeError(`${path}.resourceType must be a served resource type`);
    const mode = optEnum(rule.mode, `${path}.mode`, ['rename', 'retype', 'remove'] as const);
    if (mode === undefined) throw new RangeError(`${path}.mode is required`);
    const field = rule.field;
    if (typeof field !== 'string' || field === '' || field === 'resourceType' || field === 'id') {
      throw new RangeError(`${path}.field must name a top-level field other than resourceType and id`);
    }
    const to = rule.to;
    if (mode === 'rename' && (typeof to !== 'string' || to === ''))
      throw new RangeError(`${path}.to is required for rename`);
    const after = optInteger(rule.after, `${path}.after`, 0, Number.MAX_SAFE_INTEGER) ?? 0;
    return { resourceType, after, mode, field, ...(typeof to === 'string' ? { to } : {}) };
  });
}

function record(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new RangeError(`${path} must be an object`);
  return value as Record<string, unknown>;
}

function optNumber(value: unknown, path: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new RangeError(`${path} must be a number in [${min}, ${max}]`);
  }
  return value;
}

function optInteger(value: unknown, path: string, min: number, max: number): number | undefined {
  const n = optNumber(value, path, min, max);
  if (n !== undefined && !Number.isInteger(n)) throw new RangeError(`${path} must be an integer`);
  return n;
}

function optBoolean(value: unknown, path: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new RangeError(`${path} must be a boolean`);
  return value;
}

function optEnum<T extends string>(value: unknown, path: string, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new RangeError(`${path} must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

/** Revocations requested with a fault change (validated). */
export function revocationsOf(input: unknown): string[] {
  const obj = record(input, 'faults');
  if (obj.revoke === undefined) return [];
  if (!Array.isArray(obj.revoke) || !obj.revoke.every((id) => typeof id === 'string')) {
    throw new RangeError('faults.revoke must be a list of client ids');
  }
  return obj.revoke;
}
