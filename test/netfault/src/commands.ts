import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

/** Finds an executable on PATH or in the sbin directories (where `ip`, `tc`, `iptables` live). */
export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A command that failed: its argv and the first line of its stderr (no data flows through these commands). */
export class CommandError extends Error {
  readonly argv: readonly string[];
  readonly stderr: string;

  constructor(argv: readonly string[], stderr: string) {
    super(`${argv.join(' ')} failed: ${stderr.split('\n')[0] ?? ''}`);
    this.name = 'CommandError';
    this.argv = argv;
    this.stderr = stderr;
  }
}

/** Runs a command to its end (at most 20 s) and returns its stdout. */
export function run(argv: readonly string[]): Promise<string> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error('empty command'));
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 20_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err !== null) reject(new CommandError(argv, stderr || err.message));
      else resolve(stdout);
    });
  });
}
