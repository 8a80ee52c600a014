import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { serviceRuntimeEnv as runtimeEnv } from '@ehrflow/config/node-options';
import { freePort, REPO_ROOT, waitFor } from '@ehrflow/testing';
import { startChild, type Child } from './child.ts';
import type { PipelineTopics } from './topic-names.ts';

/**
 * `NODE_OPTIONS` and the malloc settings of a `service` process started from this machine: what the
 * image and the manifests use, with the caller's own options after the defaults (so they win) and
 * the caller's own malloc variables kept. For launchers that start a service without
 * {@link serviceEnv} (the receivers through {@link startReceiver}, the benchmarks).
 */
export const serviceRuntimeEnv = runtimeEnv;

export const SERVICE_NAMES = ['extractor', 'validator', 'redactor', 'loader'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** A running service: its process and the base URL of its HTTP server (health, metrics, API). */
export interface ServiceHandle {
  readonly name: ServiceName;
  readonly child: Child;
  readonly url: string;
}

export interface PipelineServicesOptions {
  /** Shared variables: KAFKA_BROKERS, SCHEMA_REGISTRY_URL, REDIS_URL, DATABASE_URL, keys. */
  readonly env: NodeJS.ProcessEnv;
  readonly topics: PipelineTopics;
  readonly sourcesFile: string;
  readonly logDir: string;
  /** Database schemas of the extractor's job table and the loader's tables. */
  readonly extractorDbSchema: string;
  readonly loaderDbSchema: string;
  /** Consumer groups; the product's defaults when omitted. */
  readonly groups?: Partial<Record<'validator' | 'redactor' | 'loader', string>>;
  readonly alertFile?: string;
  /** Extra variables per service (tuning). */
  readonly extraEnv?: Partial<Record<ServiceName, NodeJS.ProcessEnv>>;
  readonly readyTimeoutMs?: number;
}

/** The entry point of a service, or undefined when it has not been written yet. */
export function serviceMain(name: ServiceName): string | undefined {
  const path = join(REPO_ROOT, 'services', name, 'src', 'main.ts');
  return existsSync(path) ? path : undefined;
}

/** Which services cannot be started (no `main.ts`). */
export function missingServices(): ServiceName[] {
  return SERVICE_NAMES.filter((name) => serviceMain(name) === undefined);
}

/** Environment of each service for one deployment (topic names, schemas, groups, ports). */
export function serviceEnv(
  name: ServiceName,
  port: number,
  options: PipelineServicesOptions,
): NodeJS.ProcessEnv {
  const { topics } = options;
  const shared = {
    ...options.env,
    EHRFLOW_MODE: options.env.EHRFLOW_MODE ?? 'development',
    LOG_LEVEL: options.env.LOG_LEVEL ?? 'info',
    HTTP_PORT: String(port),
  };
  const own: Record<ServiceName, NodeJS.ProcessEnv> = {
    extractor: {
      EXTRACTOR_SOURCES_FILE: options.sourcesFile,
      EXTRACTOR_RAW_TOPIC: topics.raw,
      EXTRACTOR_JOBS_TOPIC: topics.jobs,
      EXTRACTOR_DB_SCHEMA: options.extractorDbSchema,
      EXTRACTOR_PROGRESS_INTERVAL_MS: '2000',
    },
    validator: {
      VALIDATOR_RAW_TOPIC: topics.raw,
      VALIDATOR_VALID_TOPIC_PREFIX: topics.validPrefix,
      VALIDATOR_QUARANTINE_TOPIC: topics.quarantine,
      VALIDATOR_DRIFT_TOPIC: topics.drift,
      ...(options.groups?.validator ? { VALIDATOR_GROUP_ID: options.groups.validator } : {}),
      ...(options.alertFile ? { ALERT_FILE: options.alertFile, ALERT_LOG_FALLBACK: 'false' } : {}),
    },
    redactor: {
      REDACTOR_VALID_TOPIC_PREFIX: topics.validPrefix,
      REDACTOR_CLEAN_TOPIC_PREFIX: topics.cleanPrefix,
      REDACTOR_QUARANTINE_TOPIC: topics.quarantine,
      ...(options.groups?.redactor ? { REDACTOR_GROUP_ID: options.groups.redactor } : {}),
    },
    loader: {
      LOADER_TOPIC_PREFIX: topics.cleanPrefix,
      LOADER_DB_SCHEMA: options.loaderDbSchema,
      ...(options.groups?.loader ? { LOADER_GROUP_ID: options.groups.loader } : {}),
    },
  };
  const env: NodeJS.ProcessEnv = { ...shared, ...own[name], ...options.extraEnv?.[name] };
  // The heap options and malloc settings the image and the manifests start services with; a
  // caller's own win.
  return { ...env, ...serviceRuntimeEnv(name, env) };
}

/**
 * Starts the four services as child processes (logs in `<logDir>/<service>.log`) and waits until
 * each answers `/readyz` with 200. A service that exits or never gets ready fails the start, and
 * the ones already started are stopped.
 */
export async function startPipelineServices(
  options: PipelineServicesOptions,
  order: readonly ServiceName[] = ['loader', 'redactor', 'validator', 'extractor'],
): Promise<Map<ServiceName, ServiceHandle>> {
  const missing = missingServices();
  if (missing.length > 0) throw new Error(`services without main.ts: ${missing.join(', ')}`);
  const handles = new Map<ServiceName, ServiceHandle>();
  try {
    for (const name of order) {
      const handle = await startPipelineService(name, await freePort(), options, (h) => handles.set(name, h));
      handles.set(name, handle);
    }
    return handles;
  } catch (err) {
    await stopPipelineServices(handles);
    throw err;
  }
}

/**
 * Starts one service as a child process on `port` (its log appended to `<logDir>/<service>.log`)
 * and waits until it answers `/readyz` with 200; a restart after a crash uses the same port, so its
 * URL stays the same. `onSpawn` sees the handle before the wait (so a caller can stop it if the
 * wait fails); a service that exits or never gets ready is stopped and fails the start.
 */
export async function startPipelineService(
  name: ServiceName,
  port: number,
  options: PipelineServicesOptions,
  onSpawn?: (handle: ServiceHandle) => void,
): Promise<ServiceHandle> {
  const main = serviceMain(name);
  if (main === undefined) throw new Error(`service without main.ts: ${name}`);
  const child = await startChild({
    name,
    args: [main],
    env: serviceEnv(name, port, options),
    logFile: join(options.logDir, `${name}.log`),
    cwd: REPO_ROOT,
  });
  const handle = { name, child, url: `http://127.0.0.1:${port}` };
  onSpawn?.(handle);
  try {
    await waitForServiceReady(handle, options.readyTimeoutMs ?? 90_000, options.logDir);
  } catch (err) {
    await child.stop(5_000);
    throw err;
  }
  return handle;
}

/** What a receiver (mllp-receiver, billing-receiver) is started with. */
export interface ReceiverLaunch {
  readonly name: 'mllp-receiver' | 'billing-receiver';
  /** Shared variables (Kafka, registry, Redis, keys); the service's heap options and malloc settings are added. */
  readonly env: NodeJS.ProcessEnv;
  /**
   * The receiver's own variables (source, topics, transactional id, ...), or a function that picks
   * them afresh (a listening port of its own) for each attempt.
   */
  readonly vars: Readonly<Record<string, string>> | (() => Promise<Readonly<Record<string, string>>>);
  /** HTTP port; a restart passes the port of the receiver it replaces. */
  readonly httpPort?: number;
  readonly logDir: string;
  readonly alertFile: string;
}

/** Attempts of a receiver start whose ports were picked here and taken by another process meanwhile. */
const PORT_CLASH_ATTEMPTS = 3;

/**
 * Starts a receiver as a child process (its log `<logDir>/<name>.log`, alerts to `alertFile`) and
 * waits up to a minute until it answers `/readyz`; a receiver that exits or never gets ready is
 * stopped and fails the start. Ports picked here (`freePort`, or by a `vars` function) may be taken
 * by another process before the receiver listens on them: when its log says EADDRINUSE, the start
 * is tried again on fresh ports. Ports the caller passed (a restart) are never changed.
 */
export async function startReceiver(launch: ReceiverLaunch): Promise<{
  child: Child;
  httpPort: number;
  url: string;
  vars: Readonly<Record<string, string>>;
}> {
  const picksPorts = launch.httpPort === undefined || typeof launch.vars === 'function';
  for (let attempt = 1; ; attempt++) {
    const logFile = join(launch.logDir, `${launch.name}.log`);
    const logged = existsSync(logFile) ? (await readFile(logFile, 'utf8')).length : 0;
    try {
      return await startReceiverOnce(launch);
    } catch (err) {
      const clash = /"code":"EADDRINUSE"/.test(
        (await readFile(logFile, 'utf8').catch(() => '')).slice(logged),
      );
      if (!picksPorts || !clash || attempt >= PORT_CLASH_ATTEMPTS) throw err;
    }
  }
}

async function startReceiverOnce(launch: ReceiverLaunch) {
  const { name } = launch;
  const httpPort = launch.httpPort ?? (await freePort());
  const vars = typeof launch.vars === 'function' ? await launch.vars() : launch.vars;
  const child = await startChild({
    name,
    args: [join(REPO_ROOT, 'services', name, 'src', 'main.ts')],
    env: {
      ...launch.env,
      ...serviceRuntimeEnv(name, launch.env),
      HTTP_PORT: String(httpPort),
      ...vars,
      ALERT_FILE: launch.alertFile,
    },
    logFile: join(launch.logDir, `${name}.log`),
    cwd: REPO_ROOT,
  });
  const url = `http://127.0.0.1:${httpPort}`;
  await waitForServiceReady({ name, url, child }, 60_000, launch.logDir);
  return { child, httpPort, url, vars };
}

/** Stops services in pipeline order (the source first, so downstream can drain what is in flight). */
export async function stopPipelineServices(handles: ReadonlyMap<ServiceName, ServiceHandle>): Promise<void> {
  for (const name of SERVICE_NAMES) await handles.get(name)?.child.stop(20_000);
}

/**
 * Waits until a started service answers `/readyz` with 200; fails at once when it exits (naming
 * its log, `<logDir>/<name>.log`) and after `timeoutMs` — then the service, still running but
 * never ready, is stopped first, so a failed start leaves no process behind.
 */
export async function waitForServiceReady(
  handle: { readonly name: string; readonly url: string; readonly child: Child },
  timeoutMs: number,
  logDir: string,
): Promise<void> {
  try {
    await waitUntilReady(handle, timeoutMs, logDir);
  } catch (err) {
    if (handle.child.running()) await handle.child.stop();
    throw err;
  }
}

async function waitUntilReady(
  handle: { readonly name: string; readonly url: string; readonly child: Child },
  timeoutMs: number,
  logDir: string,
): Promise<void> {
  await waitFor(
    async () => {
      if (!handle.child.running()) {
        throw new Error(
          `${handle.name} exited during start (code ${String(await handle.child.exited)}); see ${join(logDir, `${handle.name}.log`)}`,
        );
      }
      try {
        const res = await fetch(`${handle.url}/readyz`, { signal: AbortSignal.timeout(2_000) });
        await res.body?.cancel();
        return res.status === 200;
      } catch {
        return false;
      }
    },
    { timeoutMs, intervalMs: 300, what: `${handle.name} to be ready` },
  );
}

/** Fetches a service's Prometheus text (empty string when unreachable). */
export async function fetchMetrics(handle: ServiceHandle): Promise<string> {
  try {
    const res = await fetch(`${handle.url}/metrics`, { signal: AbortSignal.timeout(3_000) });
    return await res.text();
  } catch {
    return '';
  }
}

/** Sum of a Prometheus metric's samples whose name matches exactly (any labels). */
export function sumMetric(text: string, name: string, labelFilter?: (labels: string) => boolean): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+([-+0-9.eE]+|NaN)/.exec(line);
    if (m?.[1] !== name) continue;
    if (labelFilter !== undefined && !labelFilter(m[2] ?? '')) continue;
    const v = Number(m[3]);
    if (Number.isFinite(v)) sum += v;
  }
  return sum;
}
