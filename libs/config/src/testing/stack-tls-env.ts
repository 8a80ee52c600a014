/**
 * The TLS client variables of the local stack, as `deploy/local/stack up --tls` writes them to
 * `$EHRFLOW_STACK_HOME/run/tls.env` (removed by `stack down`). Test support only.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Env } from '../env.ts';

const repo = fileURLToPath(new URL('../../../..', import.meta.url));

/** Where the stack home's TLS env file is (whether or not it exists). */
export function stackTlsEnvFile(): string {
  return join(process.env.EHRFLOW_STACK_HOME ?? join(repo, '.run/stack'), 'run', 'tls.env');
}

/** The variables of the stack's TLS env file, or undefined when the TLS stack is not up. */
export function readStackTlsEnv(file: string = stackTlsEnvFile()): Env | undefined {
  if (!existsSync(file)) return undefined;
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}
