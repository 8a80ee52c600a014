import { type Admin, consumerLag, totalLag } from '@ehrflow/kafka';
import { loaderLag } from '@ehrflow/loader';
import type { Pool } from 'pg';
import type { PipelineTopics } from './topic-names.ts';
import { RESOURCE_TYPES } from './topic-names.ts';

/** Records per stage since the start of a run, and what each consumer group still has to read. */
export interface StageCounts {
  readonly raw: number;
  readonly valid: number;
  readonly quarantined: number;
  readonly clean: number;
  readonly loaded: number;
  /** Records each group has still to read (the loader's from its PostgreSQL positions, when its group is given). */
  readonly lag: { readonly validator: number; readonly redactor: number; readonly loader?: number };
}

/** End offsets of every pipeline topic: the baseline a run's counts are taken against. */
export type TopicEnds = ReadonlyMap<string, number>;

export async function topicEnds(admin: Admin, topics: PipelineTopics): Promise<TopicEnds> {
  const out = new Map<string, number>();
  for (const topic of [topics.raw, topics.quarantine, ...topics.valid, ...topics.clean]) {
    const offsets = await admin.fetchTopicOffsets(topic);
    out.set(
      topic,
      offsets.reduce((sum, p) => sum + Number(p.high), 0),
    );
  }
  return out;
}

export interface StageCountDeps {
  readonly admin: Admin;
  readonly pool: Pool;
  readonly topics: PipelineTopics;
  /** Baseline taken before the run. */
  readonly baseline: TopicEnds;
  readonly loaderSchema: string;
  readonly jobIds: readonly string[];
  readonly groups: { readonly validator: string; readonly redactor: string; readonly loader?: string };
}

/**
 * Counts per stage: records written to each topic since the baseline (offsets; exact for
 * at-least-once producers, an upper bound when transaction markers or redeliveries add to them),
 * rows of the run's jobs in the loader's tables, and the lag of the validator and redactor groups.
 */
export async function stageCounts(deps: StageCountDeps): Promise<StageCounts> {
  const now = await topicEnds(deps.admin, deps.topics);
  const delta = (topics: readonly string[]): number =>
    topics.reduce((sum, t) => sum + (now.get(t) ?? 0) - (deps.baseline.get(t) ?? 0), 0);
  const loaderGroup = deps.groups.loader;
  const [validatorLag, redactorLag, loader] = await Promise.all([
    consumerLag(deps.admin, deps.groups.validator, [deps.topics.raw]).then(totalLag),
    consumerLag(deps.admin, deps.groups.redactor, deps.topics.valid).then(totalLag),
    loaderGroup === undefined
      ? undefined
      : loaderLag({
          admin: deps.admin,
          pool: deps.pool,
          schema: deps.loaderSchema,
          groupId: loaderGroup,
          topics: deps.topics.clean,
        }).then(totalLag),
  ]);
  return {
    raw: delta([deps.topics.raw]),
    valid: delta(deps.topics.valid),
    quarantined: delta([deps.topics.quarantine]),
    clean: delta(deps.topics.clean),
    loaded: await loadedRows(deps.pool, deps.loaderSchema, deps.jobIds),
    lag: { validator: validatorLag, redactor: redactorLag, ...(loader === undefined ? {} : { loader }) },
  };
}

/** Rows of the given jobs in the loader's tables (a table not created yet counts 0). */
export async function loadedRows(pool: Pool, schema: string, jobIds: readonly string[]): Promise<number> {
  if (jobIds.length === 0) return 0;
  const { rows: tables } = await pool.query<{ name: string }>(
    `select table_name as name from information_schema.columns where table_schema = $1 and column_name = 'job_id'`,
    [schema],
  );
  const known = new Set(RESOURCE_TYPES.map(snakeCase));
  let total = 0;
  for (const { name } of tables) {
    if (!known.has(name)) continue;
    const { rows } = await pool.query<{ n: string }>(
      `select count(*) as n from "${schema}"."${name}" where job_id = any($1)`,
      [[...jobIds]],
    );
    total += Number(rows[0]?.n ?? 0);
  }
  return total;
}

/** `MedicationRequest` → `medication_request`, as the loader names its tables. */
export function snakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}
