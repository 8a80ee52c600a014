import { inTransaction, toDatabaseError } from '@ehrflow/service/database';
import type { JobFailureReason, JobKind, JobState } from '@ehrflow/contracts';
import type { Pool, QueryResultRow } from 'pg';
import type { JobProgress } from './checkpoint.ts';

/** Request-level totals of a job (what `JobCounts` carries beside the record counts). */
export interface JobStats {
  readonly retries: number;
  readonly throttled: number;
  readonly tokenRefreshes: number;
  /** Failures by error code (PHI-free: codes only). */
  readonly errorsByCode: Readonly<Record<string, number>>;
}

export const ZERO_STATS: JobStats = { retries: 0, throttled: 0, tokenRefreshes: 0, errorsByCode: {} };

/** One job as stored. Timestamps are epoch milliseconds. */
export interface JobRecord {
  readonly id: string;
  readonly sourceId: string;
  readonly kind: JobKind;
  readonly state: JobState;
  readonly reason: JobFailureReason | null;
  readonly resourceTypes: readonly string[];
  /** `_since` of an export / lower `_lastUpdated` bound of an incremental sync (ISO instant). */
  readonly since: string | undefined;
  /** Status URL of the running export (PHI-free: a server job id). */
  readonly statusUrl: string | undefined;
  readonly exportAttempts: number;
  readonly progress: JobProgress | undefined;
  readonly stats: JobStats;
  /** Code of the error that failed the job. */
  readonly errorCode: string | undefined;
  readonly cancelRequested: boolean;
  /** The partial job this job retries (`retry-failed`), if any. */
  readonly parentId: string | undefined;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface NewJob {
  readonly id: string;
  readonly sourceId: string;
  readonly kind: JobKind;
  readonly resourceTypes: readonly string[];
  readonly since: string | undefined;
  readonly parentId?: string;
}

/** A record id a batch produced, and the part of the job (file or type) it was read in. */
export interface SeenKey {
  /** The envelope's record id: 32 hex characters (a hash of source, type, id and version). */
  readonly recordId: string;
  /** A small hash of the file URL or resource type the record was read from. */
  readonly part: number;
}

/** What a runner checkpoints; written only while the runner still holds the job's lease. */
export interface JobCheckpoint {
  readonly statusUrl?: string | null;
  readonly exportAttempts?: number;
  readonly progress?: JobProgress | null;
  readonly stats?: JobStats;
}

/**
 * Job state and checkpoints in PostgreSQL (schema configurable, `extractor` by default).
 * Ownership is a lease: a replica that runs a job renews `lease_until`; when it dies, another
 * replica claims the job once the lease has run out. Checkpoint writes are fenced by the owner,
 * so a replica that lost its lease cannot overwrite the new owner's progress.
 */
export interface JobStore {
  /** Creates the schema and tables when missing (idempotent). */
  migrate(): Promise<void>;
  /** Inserts a pending job owned by `owner`. */
  create(job: NewJob, owner: string, leaseMs: number): Promise<JobRecord>;
  get(id: string): Promise<JobRecord | undefined>;
  /** Takes over pending/running jobs whose lease ran out (a crashed replica's), at most `limit`. */
  claimStale(owner: string, leaseMs: number, limit: number): Promise<JobRecord[]>;
  /**
   * Extends the lease of the owner's jobs (`leaseMs` 0 hands them back at once); returns the jobs
   * it still holds and whether a cancel was requested for them.
   */
  renew(
    ids: readonly string[],
    owner: string,
    leaseMs: number,
  ): Promise<{ id: string; cancelRequested: boolean }[]>;
  /** Writes a checkpoint; false when `owner` no longer holds the job. */
  checkpoint(id: string, owner: string, data: JobCheckpoint): Promise<boolean>;
  /**
   * Records the keys of a batch and writes the checkpoint `build` makes from which of them are
   * new to the job (`fresh[i]` for `keys[i]`; a key twice in `keys` is fresh once), in ONE
   * transaction: a crash leaves neither or both, so a batch read again after a crash is counted
   * once. False (nothing written) when `owner` no longer holds the job.
   */
  commitBatch(
    id: string,
    owner: string,
    keys: readonly SeenKey[],
    build: (fresh: readonly boolean[]) => JobCheckpoint,
  ): Promise<boolean>;
  /** Forgets the keys a job read in the given parts (files read again), or all when omitted. */
  forgetKeys(id: string, parts?: readonly number[]): Promise<void>;
  /** Takes a failed or cancelled job back to `pending` for `owner` (resume); undefined otherwise. */
  reopen(id: string, owner: string, leaseMs: number): Promise<JobRecord | undefined>;
  /** Moves the job to a state (final states release the lease); false when `owner` lost it. */
  setState(
    id: string,
    owner: string,
    state: JobState,
    reason: JobFailureReason | null,
    errorCode?: string,
  ): Promise<boolean>;
  /**
   * Jobs whose final state is written but whose final event Kafka has not acknowledged (the
   * process stopped or died first), oldest first, at most `limit`.
   */
  pendingFinalEvents(limit: number): Promise<JobRecord[]>;
  /** The job's final event is in Kafka: no sweep sends it again. */
  finalEventSent(id: string): Promise<void>;
  /** Marks a job for cancellation; its runner sees it on its next lease renewal. */
  requestCancel(id: string): Promise<JobRecord | undefined>;
  /** Last fully synced `_lastUpdated` per resource type of a source. */
  watermarks(sourceId: string): Promise<Map<string, string>>;
  setWatermark(sourceId: string, resourceType: string, instant: string): Promise<void>;
  close(): Promise<void>;
}

interface JobRow extends QueryResultRow {
  id: string;
  source_id: string;
  kind: JobKind;
  state: JobState;
  reason: JobFailureReason | null;
  resource_types: string[];
  since: string | null;
  status_url: string | null;
  export_attempts: number;
  progress: JobProgress | null;
  stats: JobStats;
  error_code: string | null;
  cancel_requested: boolean;
  parent_id: string | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `id, source_id, kind, state, reason, resource_types, since, status_url, export_attempts,
  progress, stats, error_code, cancel_requested, parent_id, created_at, updated_at`;

const STATES = `('pending', 'running', 'completed', 'failed', 'cancelled', 'partial')`;

/** Creates the store over a pg pool; `schema` must be a plain identifier (checked by the config). */
export function createJobStore(pool: Pool, schema: string): JobStore {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new RangeError('invalid schema name');
  const { jobs, marks, seen } = tablesOf(schema);

  const query = async <R extends QueryResultRow>(operation: string, sql: string, params: unknown[] = []) => {
    try {
      return await pool.query<R>(sql, params);
    } catch (err) {
      throw toDatabaseError(err, operation);
    }
  };

  return {
    async migrate() {
      for (const statement of migrationStatements(schema)) await query('migrate', statement);
    },

    async create(job, owner, leaseMs) {
      const { rows } = await query<JobRow>(
        'create job',
        `INSERT INTO ${jobs} (id, source_id, kind, state, resource_types, since, stats, owner, lease_until, parent_id)
         VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, now() + $8 * interval '1 millisecond', $9)
         RETURNING ${COLUMNS}`,
        [
          job.id,
          job.sourceId,
          job.kind,
          job.resourceTypes,
          job.since ?? null,
          ZERO_STATS,
          owner,
          leaseMs,
          job.parentId ?? null,
        ],
      );
      return toRecord(rows[0] as JobRow);
    },

    async get(id) {
      const { rows } = await query<JobRow>('read job', `SELECT ${COLUMNS} FROM ${jobs} WHERE id = $1`, [id]);
      return rows[0] === undefined ? undefined : toRecord(rows[0]);
    },

    async claimStale(owner, leaseMs, limit) {
      const { rows } = await query<JobRow>(
        'claim jobs',
        `UPDATE ${jobs} SET owner = $1, lease_until = now() + $2 * interval '1 millisecond', updated_at = now()
         WHERE id IN (
           SELECT id FROM ${jobs}
           WHERE state IN ('pending', 'running') AND (lease_until IS NULL OR lease_until < now())
           ORDER BY created_at LIMIT $3 FOR UPDATE SKIP LOCKED)
         RETURNING ${COLUMNS}`,
        [owner, leaseMs, limit],
      );
      return rows.map(toRecord);
    },

    async renew(ids, owner, leaseMs) {
      if (ids.length === 0) return [];
      const { rows } = await query<{ id: string; cancel_requested: boolean }>(
        'renew leases',
        `UPDATE ${jobs} SET lease_until = now() + $3 * interval '1 millisecond'
         WHERE id = ANY($1) AND owner = $2 AND state IN ('pending', 'running') RETURNING id, cancel_requested`,
        [ids, owner, leaseMs],
      );
      return rows.map((r) => ({ id: r.id, cancelRequested: r.cancel_requested }));
    },

    async checkpoint(id, owner, data) {
      const { sql, params } = checkpointUpdate(jobs, id, owner, data);
      const result = await query('write checkpoint', sql, params);
      return result.rowCount === 1;
    },

    async commitBatch(id, owner, keys, build) {
      // The update matches no row when the job is no longer this owner's: roll back, keys included.
      const commitWhenOwned = (updated: boolean) => updated;
      return inTransaction(
        () => pool.connect(),
        'commit batch',
        async (client) => {
          let inserted = new Set<string>();
          if (keys.length > 0) {
            const { rows } = await client.query<{ key: Buffer }>(
              `INSERT INTO ${seen} (job_id, key, part)
             SELECT $1, decode(k, 'hex'), p FROM unnest($2::text[], $3::int[]) AS t(k, p)
             ON CONFLICT DO NOTHING RETURNING key`,
              [id, keys.map((k) => k.recordId), keys.map((k) => k.part)],
            );
            inserted = new Set(rows.map((r) => r.key.toString('hex')));
          }
          const fresh = keys.map((k) => inserted.delete(k.recordId.toLowerCase()));
          const { sql, params } = checkpointUpdate(jobs, id, owner, build(fresh));
          const result = await client.query(sql, params);
          return result.rowCount === 1;
        },
        commitWhenOwned,
      );
    },

    async forgetKeys(id, parts) {
      if (parts === undefined) await query('forget keys', `DELETE FROM ${seen} WHERE job_id = $1`, [id]);
      else if (parts.length > 0)
        await query('forget keys', `DELETE FROM ${seen} WHERE job_id = $1 AND part = ANY($2::int[])`, [
          id,
          parts,
        ]);
    },

    async reopen(id, owner, leaseMs) {
      const { rows } = await query<JobRow>(
        'resume job',
        `UPDATE ${jobs} SET state = 'pending', reason = NULL, error_code = NULL, cancel_requested = false,
           final_event_pending = false, owner = $2, lease_until = now() + $3 * interval '1 millisecond', updated_at = now()
         WHERE id = $1 AND state IN ('failed', 'cancelled') RETURNING ${COLUMNS}`,
        [id, owner, leaseMs],
      );
      return rows[0] === undefined ? undefined : toRecord(rows[0]);
    },

    async setState(id, owner, state, reason, errorCode) {
      const final =
        state === 'completed' || state === 'failed' || state === 'cancelled' || state === 'partial';
      const result = await query(
        'set job state',
        `UPDATE ${jobs} SET state = $3, reason = $4, error_code = COALESCE($5, error_code), updated_at = now()
           ${final ? ', owner = NULL, lease_until = NULL, final_event_pending = true' : ''}
         WHERE id = $1 AND owner = $2 AND state IN ('pending', 'running')`,
        [id, owner, state, reason, errorCode ?? null],
      );
      // A completed or partial job is never resumed (a retry is a new job): its keys can go.
      if (result.rowCount === 1 && (state === 'completed' || state === 'partial'))
        await query('forget keys', `DELETE FROM ${seen} WHERE job_id = $1`, [id]);
      return result.rowCount === 1;
    },

    async pendingFinalEvents(limit) {
      const { rows } = await query<JobRow>(
        'read pending final events',
        `SELECT ${COLUMNS} FROM ${jobs} WHERE final_event_pending ORDER BY updated_at LIMIT $1`,
        [limit],
      );
      return rows.map(toRecord);
    },

    async finalEventSent(id) {
      await query('final event sent', `UPDATE ${jobs} SET final_event_pending = false WHERE id = $1`, [id]);
    },

    async requestCancel(id) {
      const { rows } = await query<JobRow>(
        'cancel job',
        `UPDATE ${jobs} SET cancel_requested = true, updated_at = now()
         WHERE id = $1 RETURNING ${COLUMNS}`,
        [id],
      );
      return rows[0] === undefined ? undefined : toRecord(rows[0]);
    },

    async watermarks(sourceId) {
      const { rows } = await query<{ resource_type: string; watermark: string }>(
        'read watermarks',
        `SELECT resource_type, watermark FROM ${marks} WHERE source_id = $1`,
        [sourceId],
      );
      return new Map(rows.map((r) => [r.resource_type, r.watermark]));
    },

    async setWatermark(sourceId, resourceType, instant) {
      await query(
        'write watermark',
        `INSERT INTO ${marks} (source_id, resource_type, watermark) VALUES ($1, $2, $3)
         ON CONFLICT (source_id, resource_type) DO UPDATE SET watermark = EXCLUDED.watermark, updated_at = now()`,
        [sourceId, resourceType, instant],
      );
    },

    close: () => pool.end(),
  };
}

/** The fenced UPDATE of a checkpoint (only while `owner` holds a pending or running job). */
function checkpointUpdate(
  jobs: string,
  id: string,
  owner: string,
  data: JobCheckpoint,
): { sql: string; params: unknown[] } {
  const sets: string[] = ['updated_at = now()'];
  const params: unknown[] = [id, owner];
  const add = (column: string, value: unknown): void => {
    params.push(value);
    sets.push(`${column} = $${params.length}`);
  };
  if (data.statusUrl !== undefined) add('status_url', data.statusUrl);
  if (data.exportAttempts !== undefined) add('export_attempts', data.exportAttempts);
  if (data.progress !== undefined)
    add('progress', data.progress === null ? null : JSON.stringify(data.progress));
  if (data.stats !== undefined) add('stats', JSON.stringify(data.stats));
  return {
    sql: `UPDATE ${jobs} SET ${sets.join(', ')} WHERE id = $1 AND owner = $2 AND state IN ('pending', 'running')`,
    params,
  };
}

/** The job store's tables in `schema`, quoted for SQL. */
function tablesOf(schema: string) {
  return { jobs: `"${schema}".jobs`, marks: `"${schema}".watermarks`, seen: `"${schema}".seen` };
}

/** The job store's tables, made or brought up to date in order; every statement can run again. */
function migrationStatements(schema: string): string[] {
  const { jobs, marks, seen } = tablesOf(schema);
  return [
    `CREATE SCHEMA IF NOT EXISTS "${schema}"`,
    `CREATE TABLE IF NOT EXISTS ${jobs} (
      id text PRIMARY KEY,
      source_id text NOT NULL,
      kind text NOT NULL CHECK (kind IN ('backfill', 'incremental')),
      state text NOT NULL,
      reason text,
      resource_types text[] NOT NULL,
      since text,
      status_url text,
      export_attempts integer NOT NULL DEFAULT 0,
      progress jsonb,
      stats jsonb NOT NULL DEFAULT '{}'::jsonb,
      error_code text,
      cancel_requested boolean NOT NULL DEFAULT false,
      owner text,
      lease_until timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`,
    // Tables made before `partial` existed carry the old check; replace it.
    `ALTER TABLE ${jobs} DROP CONSTRAINT IF EXISTS jobs_state_check`,
    `ALTER TABLE ${jobs} ADD CONSTRAINT jobs_state_check CHECK (state IN ${STATES})`,
    `ALTER TABLE ${jobs} ADD COLUMN IF NOT EXISTS parent_id text`,
    // Set with a final state, cleared once Kafka acknowledged the job's final event: what a
    // process that died in between left for the next one to send (reconciliation reads it).
    `ALTER TABLE ${jobs} ADD COLUMN IF NOT EXISTS final_event_pending boolean NOT NULL DEFAULT false`,
    `CREATE INDEX IF NOT EXISTS jobs_final_event_idx ON ${jobs} (updated_at) WHERE final_event_pending`,
    // Record ids a job has read, to count a resource listed twice as a duplicate. One row per
    // resource of a running or resumable job (16 bytes of key): memory stays one batch.
    `CREATE TABLE IF NOT EXISTS ${seen} (
      job_id text NOT NULL,
      key bytea NOT NULL,
      part integer NOT NULL,
      PRIMARY KEY (job_id, key)
    )`,
    // A failed or cancelled job nobody resumed for 30 days gives its keys back.
    `DELETE FROM ${seen} WHERE job_id IN (SELECT id FROM ${jobs}
       WHERE state IN ('failed', 'cancelled') AND updated_at < now() - interval '30 days')`,
    `CREATE INDEX IF NOT EXISTS jobs_active_idx ON ${jobs} (lease_until) WHERE state IN ('pending', 'running')`,
    `CREATE TABLE IF NOT EXISTS ${marks} (
      source_id text NOT NULL,
      resource_type text NOT NULL,
      watermark text NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (source_id, resource_type)
    )`,
  ];
}

function toRecord(row: JobRow): JobRecord {
  return {
    id: row.id,
    sourceId: row.source_id,
    kind: row.kind,
    state: row.state,
    reason: row.reason,
    resourceTypes: row.resource_types,
    since: row.since ?? undefined,
    statusUrl: row.status_url ?? undefined,
    exportAttempts: row.export_attempts,
    progress: row.progress ?? undefined,
    stats: { ...ZERO_STATS, ...row.stats },
    errorCode: row.error_code ?? undefined,
    cancelRequested: row.cancel_requested,
    parentId: row.parent_id ?? undefined,
    createdAt: row.created_at.getTime(),
    updatedAt: row.updated_at.getTime(),
  };
}
