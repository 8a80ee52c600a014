import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '@ehrflow/testing';

const run = promisify(execFile);

export interface ReconcileCliOptions {
  readonly jobIds: readonly string[];
  /** Environment of the loader CLI (broker, registry, database, TLS). */
  readonly env: NodeJS.ProcessEnv;
  /** The loader's database schema. */
  readonly dbSchema: string;
  /** Topic prefix of the deployment (default: the product's `ehr.`). */
  readonly topicPrefix?: string;
  readonly timeoutMs?: number;
}

/**
 * Runs `loader reconcile --json` for jobs and returns its JSON text. Exit 1 means "a gap": the
 * JSON is still on stdout and is returned, so the caller's assertions show the gap; any other
 * failure throws.
 */
export async function reconcileCli(options: ReconcileCliOptions): Promise<string> {
  const args = [join(REPO_ROOT, 'services', 'loader', 'src', 'cli.ts'), 'reconcile'];
  for (const id of options.jobIds) args.push('--job', id);
  args.push('--json');
  if (options.topicPrefix !== undefined) args.push('--topic-prefix', options.topicPrefix);
  try {
    const { stdout } = await run(process.execPath, args, {
      env: { ...options.env, LOADER_DB_SCHEMA: options.dbSchema, LOG_LEVEL: 'warn' },
      maxBuffer: 16 * 1024 * 1024,
      timeout: options.timeoutMs ?? 180_000,
    });
    return stdout;
  } catch (err) {
    const stdout = (err as { stdout?: unknown }).stdout;
    if (typeof stdout === 'string' && stdout.trim().startsWith('{')) return stdout;
    throw err;
  }
}

/** The part of `loader reconcile --json` the demo and the fault suite read. */
export interface ReconcileJson {
  readonly jobId?: unknown;
  readonly reconciled?: unknown;
  readonly messages?: {
    raw: number;
    valid: number;
    quarantined: number;
    incomplete: number;
    clean: number;
    loaded: number;
  };
  readonly rows?: readonly {
    readonly stage?: unknown;
    readonly count?: unknown;
    readonly expected?: unknown;
    readonly ok?: unknown;
  }[];
  readonly job?: { readonly state?: unknown } | null;
  readonly notes?: readonly unknown[];
}

/**
 * Why a job did not reconcile, in one PHI-free line: its state, the stages whose count differs
 * from what they must equal (`stage count/expected`), and the reconciliation's notes.
 */
export function reconcileGaps(result: ReconcileJson): string {
  const gaps = (result.rows ?? [])
    .filter((r) => r.ok === false)
    .map((r) => `${String(r.stage)} ${String(r.count)}/${String(r.expected)}`);
  const state = typeof result.job?.state === 'string' ? result.job.state : 'no job event';
  const notes = (result.notes ?? []).filter((n) => typeof n === 'string');
  return [`state ${state}`, gaps.length > 0 ? `gaps: ${gaps.join(', ')}` : 'no stage gap', ...notes].join(
    '; ',
  );
}

/**
 * Reconciles every job with one run of `loader reconcile` (one scan of the topics); by job id. A
 * run that fails adds a PHI-free line to `problems` and returns what it has (nothing).
 */
export async function reconcileJobs(
  jobIds: readonly string[],
  env: NodeJS.ProcessEnv,
  schema: string,
  problems: string[],
  topicPrefix?: string,
): Promise<Map<string, ReconcileJson>> {
  const out = new Map<string, ReconcileJson>();
  if (jobIds.length === 0) return out;
  try {
    const parsed = JSON.parse(
      await reconcileCli({
        jobIds,
        env,
        dbSchema: schema,
        ...(topicPrefix === undefined ? {} : { topicPrefix }),
      }),
    ) as ReconcileJson & { jobs?: ReconcileJson[] };
    // One job: its result; several: { reconciled, jobs: [...] } in the order given.
    const list = jobIds.length === 1 ? [parsed] : (parsed.jobs ?? []);
    for (const result of list) if (typeof result.jobId === 'string') out.set(result.jobId, result);
  } catch {
    problems.push(`reconcile of ${jobIds.length} job(s) failed to run`);
  }
  return out;
}
