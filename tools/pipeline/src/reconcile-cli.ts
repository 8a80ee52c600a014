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
