import {
  deletionsTopicOf,
  type Codec,
  type Deletion,
  type JobCounts,
  type JobEvent,
  type QuarantineRecord,
  type RawEnvelope,
} from '@ehrflow/contracts';
import { isPipelineError } from '@ehrflow/errors';
import type { KafkaClient } from '@ehrflow/kafka';
import type { Pool } from 'pg';
import { INFRA_TABLES } from './ddl.ts';
import { RESOURCE_TYPES } from './resource-types.ts';
import { qualified } from './names.ts';
import {
  countMessages,
  emptyMessageScan,
  notePart,
  type MessageCounts,
  type MessageScan,
} from './reconcile-messages.ts';
import { toDatabaseError } from '@ehrflow/service/database';
import { isDeleteRecord } from './rows.ts';
import { scanTopics, type ScannedRecord } from './topic-scan.ts';

/** The topics a job's records pass through. */
export interface ReconcileTopics {
  readonly raw: string;
  readonly jobs: string;
  readonly quarantine: string;
  /** Resource type → its valid topic. */
  readonly valid: Readonly<Record<string, string>>;
  /** Resource type → its clean topic. */
  readonly clean: Readonly<Record<string, string>>;
  /**
   * The deletion topics (their records count as deletes of their `resourceType`, when it is one of
   * the types above); absent for a deployment without them.
   */
  readonly deletions?: { readonly valid: string; readonly clean: string };
}

/**
 * `<prefix>raw`, `<prefix>jobs`, `<prefix>quarantine`, `<prefix>valid.<Type>`, `<prefix>clean.<Type>`,
 * `<prefix>valid.deletions`, `<prefix>clean.deletions`.
 */
export function pipelineTopics(
  prefix = 'ehr.',
  resourceTypes: readonly string[] = RESOURCE_TYPES,
): ReconcileTopics {
  const per = (stage: string) => Object.fromEntries(resourceTypes.map((t) => [t, `${prefix}${stage}.${t}`]));
  return {
    raw: `${prefix}raw`,
    jobs: `${prefix}jobs`,
    quarantine: `${prefix}quarantine`,
    valid: per('valid'),
    clean: per('clean'),
    deletions: { valid: deletionsTopicOf(`${prefix}valid.`), clean: deletionsTopicOf(`${prefix}clean.`) },
  };
}

export interface ReconcileDeps {
  readonly kafka: KafkaClient;
  /** Registry-backed decoder of every topic's values. */
  readonly codec: Codec;
  /** The warehouse, for what the loader committed. */
  readonly pool: Pool;
  /** The loader's database schema. */
  readonly schema: string;
  readonly topics: ReconcileTopics;
  /** Bound on the topic scan. Default 120 s. */
  readonly timeoutMs?: number;
}

export type ReconcileStage =
  | 'source_read'
  | 'source_errors'
  | 'source_duplicates'
  | 'raw'
  | 'valid'
  | 'quarantined'
  | 'valid_plus_quarantined'
  | 'clean'
  | 'loaded'
  | 'valid_messages'
  | 'clean_messages'
  | 'loaded_messages';

/** One line of the reconciliation table. Every count is counted where it says, never copied. */
export interface ReconcileRow {
  readonly stage: ReconcileStage;
  readonly label: string;
  /** Where the count comes from. */
  readonly from: string;
  /** Distinct records of the job at this stage; null when unknown (no job event). */
  readonly count: number | null;
  readonly upserts?: number;
  readonly deletes?: number;
  /** What the count must equal (the previous stage), or null when the row is not compared. */
  readonly expected: number | null;
  /** `count - expected`: negative is missing records, positive is extra; null when not compared. */
  readonly gap: number | null;
  /** What `deletes` must equal, when the row compares them (a delete must stay a delete). */
  readonly expectedDeletes?: number | null;
  /** `deletes - expectedDeletes`; null when not compared. */
  readonly deletesGap?: number | null;
  readonly ok: boolean;
}

/** Counts of one resource type across the stages. */
export interface TypeCounts {
  raw: number;
  valid: number;
  quarantined: number;
  clean: number;
  loaded: number;
}

export interface ReconcileResult {
  readonly jobId: string;
  /**
   * Every compared row without gap, and the job completed — or partial (the source reported
   * error entries) and retried by a `retry-failed` job that completed.
   */
  readonly reconciled: boolean;
  /** The latest `retry-failed` job of a partial job, with its state; null when none. */
  readonly retriedBy: { readonly jobId: string; readonly state: string } | null;
  readonly job: {
    readonly sourceId: string;
    readonly kind: string;
    readonly state: string;
    readonly counts: JobCounts;
  } | null;
  readonly rows: readonly ReconcileRow[];
  readonly byType: Readonly<Record<string, TypeCounts>>;
  /**
   * Counts in raw messages, present when a raw record of the job maps to several valid records
   * (HL7 v2): the rows then compare valid + quarantined messages with raw, and clean and loaded
   * messages with valid ones; the record rows still compare valid, clean and loaded records.
   */
  readonly messages?: MessageCounts;
  /**
   * A push feed (raw records but no job event, e.g. an MLLP listener): open-ended, so there is no
   * source count to compare raw with; the caller compares raw with what the senders saw ACKed.
   */
  readonly feed?: boolean;
  /** Blocks refused whole before the raw topic (a batch whose trailer lied), in quarantine. */
  readonly refusedBlocks?: number;
  /** Facts that stop the job from reconciling, or that the reader should know (PHI-free). */
  readonly notes: readonly string[];
}

interface Seen {
  readonly type: string;
  readonly deleted: boolean;
  /** Raw envelopes only: the payload format. */
  readonly format?: string;
}

/**
 * Raw formats of push feeds: their records have no job event (an open-ended job per MLLP listener;
 * a job per X12 file, whose transaction sets the billing receiver counts).
 */
const FEED_FORMATS: ReadonlySet<string> = new Set(['HL7V2', 'X12']);

/** What one scan collects for one job. */
interface JobScan {
  job: JobEvent | undefined;
  /** Latest event of the latest job retrying this one (`parentJobId`). */
  retry: JobEvent | undefined;
  readonly raw: Map<string, Seen>;
  readonly valid: Map<string, Seen>;
  readonly quarantined: Map<string, Seen>;
  readonly clean: Map<string, Seen>;
  /** Valid records grouped by the raw message they came from. */
  readonly parts: MessageScan;
  /** Record ids of quarantined blocks that never reached the raw topic. */
  readonly refused: Set<string>;
}

/**
 * Reconciles one job: the source's count (latest `ehr.jobs` event), then distinct record ids of
 * the job in `ehr.raw`, `ehr.valid.*`, `ehr.quarantine` and `ehr.clean.*` (one scan of all of
 * them, filtered on jobId; `ehr.valid.deletions` and `ehr.clean.deletions` included), then what
 * the loader committed for the job (`loader_ledger`). Expected: raw = read − errors, valid +
 * quarantined = raw, clean = valid, loaded = clean — and the same for deletes alone: raw DELETEs =
 * the job's reported deletions = valid deletions + quarantined DELETEs, clean deletions = valid
 * deletions, tombstones loaded = clean deletions. A record quarantined and later replayed into its
 * valid topic counts as valid only. Distinct record ids make redelivery (at-least-once stages)
 * harmless to the counts.
 */
export async function reconcile(jobId: string, deps: ReconcileDeps): Promise<ReconcileResult> {
  const [result] = await reconcileJobs([jobId], deps);
  if (result === undefined) throw new TypeError('reconcileJobs returned no result');
  return result;
}

/** {@link reconcile} for several jobs with ONE scan of the topics; results in the order given. */
export async function reconcileJobs(
  jobIds: readonly string[],
  deps: ReconcileDeps,
): Promise<ReconcileResult[]> {
  const { topics } = deps;
  const typeOfTopic = new Map<string, { stage: 'valid' | 'clean'; type: string }>();
  for (const [type, topic] of Object.entries(topics.valid)) typeOfTopic.set(topic, { stage: 'valid', type });
  for (const [type, topic] of Object.entries(topics.clean)) typeOfTopic.set(topic, { stage: 'clean', type });
  const deletionStage = new Map<string, 'valid' | 'clean'>(
    topics.deletions === undefined
      ? []
      : [
          [topics.deletions.valid, 'valid'],
          [topics.deletions.clean, 'clean'],
        ],
  );
  const scans = new Map<string, JobScan>(
    jobIds.map((id) => [
      id,
      {
        job: undefined,
        retry: undefined,
        raw: new Map(),
        valid: new Map(),
        quarantined: new Map(),
        clean: new Map(),
        parts: emptyMessageScan(),
        refused: new Set(),
      },
    ]),
  );
  const undecodable = new Map<string, number>();

  await scanTopics(
    deps.kafka,
    [topics.raw, topics.jobs, topics.quarantine, ...typeOfTopic.keys(), ...deletionStage.keys()],
    async (r: ScannedRecord) => {
      if (r.value === null) return;
      let value: Record<string, unknown>;
      try {
        value = (await deps.codec.decode<Record<string, unknown>>(r.value)).value;
      } catch (err) {
        if (isPipelineError(err) && err.retryable) throw err;
        undecodable.set(r.topic, (undecodable.get(r.topic) ?? 0) + 1);
        return;
      }
      if (r.topic === topics.jobs && typeof value.parentJobId === 'string') {
        const parent = scans.get(value.parentJobId);
        const e = value as unknown as JobEvent;
        if (parent !== undefined && (parent.retry === undefined || e.updatedAt >= parent.retry.updatedAt))
          parent.retry = e;
      }
      const scan = scans.get(String(value.jobId));
      if (scan === undefined) return;
      if (r.topic === topics.jobs) {
        const e = value as unknown as JobEvent;
        if (scan.job === undefined || e.updatedAt >= scan.job.updatedAt) scan.job = e;
      } else if (r.topic === topics.raw) {
        const e = value as unknown as RawEnvelope;
        scan.raw.set(e.recordId, { type: e.resourceType, deleted: e.kind === 'DELETE', format: e.format });
      } else if (r.topic === topics.quarantine) {
        const q = value as unknown as QuarantineRecord;
        // Refused before the raw topic (partition -1): not one of the job's raw records.
        if (q.sourcePartition === -1 && q.sourceTopic !== topics.raw) scan.refused.add(q.recordId);
        else scan.quarantined.set(q.recordId, { type: q.resourceType ?? 'unknown', deleted: false });
      } else if (deletionStage.has(r.topic)) {
        // Deletions of the reconciled types only, like the per-type topics.
        const d = value as unknown as Deletion;
        const stage = deletionStage.get(r.topic);
        if (stage !== undefined && Object.hasOwn(topics.clean, d.resourceType))
          scan[stage].set(d.recordId, { type: d.resourceType, deleted: true });
      } else {
        const where = typeOfTopic.get(r.topic);
        if (where !== undefined) {
          if (where.stage === 'valid') notePart(scan.parts, String(value.recordId), r.headers);
          scan[where.stage].set(String(value.recordId), {
            type: where.type,
            deleted: isDeleteRecord(value, r.headers),
          });
        }
      }
    },
    deps.timeoutMs === undefined ? {} : { timeoutMs: deps.timeoutMs },
  );
  const results: ReconcileResult[] = [];
  for (const [jobId, scan] of scans) results.push(await summarize(jobId, scan, undecodable, deps));
  return results;
}

async function summarize(
  jobId: string,
  scan: JobScan,
  undecodable: ReadonlyMap<string, number>,
  deps: ReconcileDeps,
): Promise<ReconcileResult> {
  const { topics } = deps;
  const { job } = scan;
  const seen = { raw: scan.raw, valid: scan.valid, quarantined: scan.quarantined, clean: scan.clean };
  // Replayed from quarantine into a valid topic: the record is valid now.
  for (const id of seen.valid.keys()) seen.quarantined.delete(id);
  // A quarantine record does not say whether it was a DELETE; its raw envelope does.
  for (const [id, q] of seen.quarantined)
    if (seen.raw.get(id)?.deleted === true) seen.quarantined.set(id, { ...q, deleted: true });

  const notes: string[] = [];
  for (const [topic, n] of undecodable)
    notes.push(`${n} record(s) in ${topic} could not be decoded and are not attributed to any job`);
  const loaded = await loadedCounts(deps, jobId, notes);
  const grouped = scan.parts.messages.size > 0;
  // A pushed file refused whole (no raw record, its quarantine record only) is a closed feed job too.
  const feed =
    job === undefined &&
    ((seen.raw.size > 0 && [...seen.raw.values()].every((r) => FEED_FORMATS.has(r.format ?? ''))) ||
      (seen.raw.size === 0 && scan.refused.size > 0));
  const messages = grouped
    ? countMessages({
        raw: new Set(seen.raw.keys()),
        valid: new Set(seen.valid.keys()),
        quarantined: new Set(seen.quarantined.keys()),
        clean: new Set(seen.clean.keys()),
        loaded: await loadedIds(deps, jobId),
        scan: scan.parts,
      })
    : undefined;

  const tally = (m: Map<string, Seen>) => {
    let deletes = 0;
    for (const s of m.values()) if (s.deleted) deletes++;
    return { count: m.size, upserts: m.size - deletes, deletes };
  };
  const raw = tally(seen.raw);
  const valid = tally(seen.valid);
  const quarantined = tally(seen.quarantined);
  const clean = tally(seen.clean);
  const loadedTotal = {
    count: loaded.upserts + loaded.deletes,
    upserts: loaded.upserts,
    deletes: loaded.deletes,
  };

  const compare = (count: number | null, expected: number | null) =>
    count === null || expected === null
      ? { expected, gap: null, ok: expected === null }
      : { expected, gap: count - expected, ok: count === expected };
  /** {@link compare} on the totals and on the deletes alone: both must hold. */
  const compareBoth = (
    totals: { count: number; deletes: number },
    expected: number | null,
    expectedDeletes: number | null,
  ) => {
    const total = compare(totals.count, expected);
    const deletes = compare(totals.deletes, expectedDeletes);
    return { ...total, expectedDeletes, deletesGap: deletes.gap, ok: total.ok && deletes.ok };
  };
  const read = job === undefined ? null : job.counts.read;
  const errors = job === undefined ? null : job.counts.errors;
  // Events written before duplicates were counted have none.
  const duplicates = job === undefined ? null : (job.counts.duplicates ?? 0);
  /** A count the source reported in its latest job event: nothing to compare it with. */
  const reported = (stage: ReconcileStage, label: string, count: number | null): ReconcileRow => ({
    stage,
    label,
    from: `${topics.jobs} (latest event)`,
    count,
    expected: null,
    gap: null,
    ok: count !== null,
  });
  const sourceRows: ReconcileRow[] = [
    reported('source_read', 'source read', read),
    reported('source_errors', 'source errors (reported)', errors),
    // A resource the source listed twice (same type, id and version) is one record: counted
    // once in raw, and explained here instead of showing as extra reads.
    reported('source_duplicates', 'source duplicates (same resource listed again)', duplicates),
  ];
  const rows: ReconcileRow[] = [
    ...(feed ? [] : sourceRows),
    {
      stage: 'raw',
      label: 'raw produced',
      from: topics.raw,
      ...raw,
      // A push feed has no source count: the caller compares raw with the senders' ACKs.
      ...(feed
        ? compare(null, null)
        : compareBoth(
            raw,
            read === null || errors === null || duplicates === null ? null : read - errors - duplicates,
            job === undefined ? null : job.counts.deleted,
          )),
    },
    {
      stage: 'valid',
      label: 'valid',
      from: `${prefixOf(topics.valid)}*`,
      ...valid,
      expected: null,
      gap: null,
      ok: true,
    },
    {
      stage: 'quarantined',
      label: 'quarantined',
      from: topics.quarantine,
      ...quarantined,
      expected: null,
      gap: null,
      ok: true,
    },
    ...(messages === undefined
      ? [
          {
            stage: 'valid_plus_quarantined' as const,
            label: 'valid + quarantined',
            from: '',
            count: valid.count + quarantined.count,
            upserts: valid.upserts + quarantined.upserts,
            deletes: valid.deletes + quarantined.deletes,
            ...compareBoth(
              { count: valid.count + quarantined.count, deletes: valid.deletes + quarantined.deletes },
              raw.count,
              raw.deletes,
            ),
          },
        ]
      : messageRows(messages, raw.count, quarantined.deletes)),
    {
      stage: 'clean',
      label: 'clean',
      from: `${prefixOf(topics.clean)}*`,
      ...clean,
      ...compareBoth(clean, valid.count, valid.deletes),
    },
    {
      stage: 'loaded',
      label: 'loaded',
      from: `${deps.schema}.${INFRA_TABLES.ledger}`,
      ...loadedTotal,
      ...compareBoth(loadedTotal, clean.count, clean.deletes),
    },
  ];

  const { retry } = scan;
  if (feed)
    notes.push(
      `push feed: no job event; raw counts messages written, to compare with what the senders saw ACKed`,
    );
  else if (job === undefined) notes.push(`no event for job ${jobId} in ${topics.jobs}`);
  else if (job.state === 'partial') {
    const entries = Object.values(job.errorEntries?.byType ?? {}).reduce((a, b) => a + Number(b), 0);
    const types = Object.keys(job.errorEntries?.byType ?? {})
      .sort()
      .join(', ');
    if (entries > 0)
      notes.push(
        `job state is partial: the source reported ${entries} error entr${entries === 1 ? 'y' : 'ies'} (${types})`,
      );
    // Events written before the field existed have none.
    const tooLarge = job.tooLargeByType ?? {};
    const large = Object.values(tooLarge).reduce((a, b) => a + Number(b), 0);
    if (large > 0)
      notes.push(
        `job state is partial: ${large} resource${large === 1 ? ' was' : 's were'} larger than the raw topic takes (${Object.keys(tooLarge).sort().join(', ')}), counted in source errors`,
      );
    notes.push(
      retry === undefined
        ? `not retried yet: POST /jobs/${jobId}/retry-failed exports the failed types again`
        : `retried by job ${retry.jobId}, state ${retry.state}`,
    );
  } else if (job.state !== 'completed')
    notes.push(`job state is ${job.state}, not completed: its counts may still move`);
  if (duplicates !== null && duplicates > 0)
    notes.push(`the source listed ${duplicates} resource(s) more than once; each is one record downstream`);
  if (messages !== undefined && messages.incomplete > 0)
    notes.push(`${messages.incomplete} message(s) have only some of their records on the valid topics`);
  if (scan.refused.size > 0)
    notes.push(
      `${scan.refused.size} block(s) refused whole before ${topics.raw} (e.g. a batch whose trailer count lied) are in ${topics.quarantine}`,
    );

  const byType: Record<string, TypeCounts> = {};
  const bump = (type: string, key: keyof TypeCounts, n = 1) => {
    byType[type] ??= { raw: 0, valid: 0, quarantined: 0, clean: 0, loaded: 0 };
    byType[type][key] += n;
  };
  for (const [key, m] of Object.entries(seen) as [keyof typeof seen, Map<string, Seen>][])
    for (const s of m.values()) bump(s.type, key);
  for (const [type, n] of loaded.byType) bump(type, 'loaded', n);

  const closed =
    feed || job?.state === 'completed' || (job?.state === 'partial' && retry?.state === 'completed');
  return {
    jobId,
    reconciled: closed && rows.every((r) => r.ok),
    retriedBy: retry === undefined ? null : { jobId: retry.jobId, state: retry.state },
    job:
      job === undefined
        ? null
        : { sourceId: job.sourceId, kind: job.kind, state: job.state, counts: job.counts },
    rows,
    byType,
    ...(messages === undefined ? {} : { messages }),
    ...(feed ? { feed } : {}),
    ...(scan.refused.size > 0 ? { refusedBlocks: scan.refused.size } : {}),
    notes,
  };
}

/**
 * Rows in messages: valid + quarantined messages = raw messages, clean messages = loaded
 * messages = valid messages. A message is valid when all of its records are.
 */
function messageRows(m: MessageCounts, raw: number, quarantinedDeletes: number): ReconcileRow[] {
  const row = (
    stage: ReconcileStage,
    label: string,
    count: number,
    expected: number | null,
  ): ReconcileRow => ({
    stage,
    label,
    from: 'messages',
    count,
    expected,
    gap: expected === null ? null : count - expected,
    ok: expected === null || count === expected,
  });
  return [
    row('valid_messages', 'valid messages (every record valid)', m.valid, null),
    {
      ...row('valid_plus_quarantined', 'valid + quarantined messages', m.valid + m.quarantined, raw),
      deletes: quarantinedDeletes,
    },
    row('clean_messages', 'clean messages', m.clean, m.valid),
    row('loaded_messages', 'loaded messages', m.loaded, m.valid),
  ];
}

function prefixOf(byType: Readonly<Record<string, string>>): string {
  const [first] = Object.entries(byType);
  return first === undefined ? '' : first[1].slice(0, first[1].length - first[0].length);
}

/** Record ids the loader committed for the job (only asked when messages are counted). */
async function loadedIds(deps: ReconcileDeps, jobId: string): Promise<Set<string>> {
  try {
    const res = await deps.pool.query<{ record_id: string }>(
      `SELECT record_id FROM ${qualified(deps.schema, INFRA_TABLES.ledger)} WHERE job_id = $1`,
      [jobId],
    );
    return new Set(res.rows.map((r) => r.record_id));
  } catch (err) {
    if ((err as { code?: unknown }).code === '42P01') return new Set();
    throw toDatabaseError(err, 'reconcile');
  }
}

async function loadedCounts(
  deps: ReconcileDeps,
  jobId: string,
  notes: string[],
): Promise<{ upserts: number; deletes: number; byType: Map<string, number> }> {
  try {
    const res = await deps.pool.query<{ resource_type: string; kind: string; n: string }>(
      `SELECT resource_type, kind, count(*) AS n FROM ${qualified(deps.schema, INFRA_TABLES.ledger)}
        WHERE job_id = $1 AND resource_type = ANY($2) GROUP BY 1, 2`,
      [jobId, Object.keys(deps.topics.clean)],
    );
    let upserts = 0;
    let deletes = 0;
    const byType = new Map<string, number>();
    for (const r of res.rows) {
      const n = Number(r.n);
      if (r.kind === 'delete') deletes += n;
      else upserts += n;
      byType.set(r.resource_type, (byType.get(r.resource_type) ?? 0) + n);
    }
    return { upserts, deletes, byType };
  } catch (err) {
    if ((err as { code?: unknown }).code === '42P01') {
      notes.push(`the loader has not created ${deps.schema}.${INFRA_TABLES.ledger} yet`);
      return { upserts: 0, deletes: 0, byType: new Map() };
    }
    throw toDatabaseError(err, 'reconcile');
  }
}
