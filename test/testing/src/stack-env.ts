import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** The repository root (this file is test/testing/src/stack-env.ts). */
export const REPO_ROOT = join(import.meta.dirname, '..', '..', '..');

/**
 * The variables the local stack prints (`deploy/local/stack env`), under those already in the
 * environment: a caller's own KAFKA_BROKERS wins.
 */
export function stackEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  let printed = '';
  try {
    printed = execFileSync('bash', [join(REPO_ROOT, 'deploy', 'local', 'stack'), 'env'], {
      encoding: 'utf8',
    });
  } catch {
    // No stack script output: rely on the environment alone.
  }
  const fromStack: Record<string, string> = {};
  for (const line of printed.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m?.[1] !== undefined && m[2] !== undefined) fromStack[m[1]] = m[2];
  }
  return { ...fromStack, ...env };
}
