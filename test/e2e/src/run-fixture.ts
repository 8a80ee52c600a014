/**
 * What the end-to-end tests that run the four services as child processes share: the names of a
 * run (its own topics, consumer groups, database schemas, Redis keys), the loader's ledger count
 * of a job, and the clean-up after the run.
 */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { Redis } from 'ioredis';
import type pg from 'pg';
import type { SchemaRegistry } from '@ehrflow/contracts';
import type { Admin } from '@ehrflow/kafka';
import {
  type EhrSetup,
  pipelineTopics,
  type Scratch,
  type ServiceHandle,
  type ServiceName,
  stopPipelineServices,
} from '@ehrflow/pipeline-tools';

/** The names one run uses, all of them its own; `short` (e.g. `any`) is in each. */
export function runNames(short: string) {
  const runId = randomUUID().slice(0, 8);
  const prefix = `e2e.${short}.${runId}.`;
  return {
    runId,
    prefix,
    topics: pipelineTopics(prefix),
    groups: { validator: `${prefix}validator`, redactor: `${prefix}redactor`, loader: `${prefix}loader` },
    schemas: { extractor: `e2e_${short}_${runId}_x`, loader: `e2e_${short}_${runId}_l` },
    directoryPrefix: `ehrflow:e2e-${short}-${runId}:directory:`,
  };
}

/** Records of a job the loader committed (its `loader_ledger` rows); 0 before its tables exist. */
export async function ledgerCount(pool: pg.Pool | undefined, schema: string, jobId: string): Promise<number> {
  if (pool === undefined) return 0;
  try {
    const { rows } = await pool.query<{ n: string }>(
      `select count(*) as n from "${schema}".loader_ledger where job_id = $1`,
      [jobId],
    );
    return Number(rows[0]?.n ?? 0);
  } catch {
    return 0; // the loader has not created its tables yet
  }
}

/** What a run created; any part may be missing when its set-up stopped early. */
export interface RunParts {
  readonly services?: ReadonlyMap<ServiceName, ServiceHandle>;
  readonly ehr?: EhrSetup | undefined;
  readonly scratch?: Scratch | undefined;
  readonly admin?: Admin | undefined;
  readonly groups: Readonly<Record<string, string>>;
  readonly registry?: SchemaRegistry | undefined;
  readonly pool?: pg.Pool | undefined;
  readonly schemas: Readonly<Record<string, string>>;
  /** A Redis client (disconnected here), else the URL to connect to (default: the local stack's). */
  readonly redis?: Redis | string | undefined;
  /** Key patterns of the run's Redis keys (`KEYS` syntax), deleted; none: Redis is left alone. */
  readonly redisKeys: readonly string[];
  readonly workDir?: string | undefined;
}

/**
 * Stops the services and the simulated EHR, then removes the run's topics and subjects, consumer
 * groups, database schemas, Redis keys and working folder; what cannot be removed is left.
 */
export async function cleanUpRun(parts: RunParts): Promise<void> {
  if (parts.services !== undefined) await stopPipelineServices(parts.services);
  await parts.ehr?.stop();
  await parts.scratch?.cleanUp();
  await parts.admin?.deleteGroups(Object.values(parts.groups)).catch(() => undefined);
  await parts.admin?.disconnect().catch(() => undefined);
  await parts.registry?.close().catch(() => undefined);
  const pool = parts.pool;
  if (pool !== undefined) {
    for (const schema of Object.values(parts.schemas))
      await pool.query(`drop schema if exists "${schema}" cascade`).catch(() => undefined);
    await pool.end();
  }
  if (parts.redisKeys.length > 0) await deleteKeys(parts.redis, parts.redisKeys);
  if (parts.workDir !== undefined) await rm(parts.workDir, { recursive: true, force: true });
}

async function deleteKeys(client: Redis | string | undefined, patterns: readonly string[]): Promise<void> {
  const redis =
    client instanceof Redis
      ? client
      : new Redis(client ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 2 });
  const keys = (await Promise.all(patterns.map((pattern) => redis.keys(pattern)))).flat();
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
}
