/**
 * Child processes of the demo and the benchmark: a service or a benchmark stage runs in its own
 * Node process (as in production), its output goes to a log file, and the parent can read its peak
 * memory and stop it with SIGTERM (it drains), then SIGKILL after a bound.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';

export interface ChildSpec {
  /** Short name, used in messages and the log file name. */
  readonly name: string;
  /** Script and arguments, run with the current Node binary. */
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** stdout and stderr are appended here. */
  readonly logFile: string;
  /** Called with each stdout line that parses as a JSON object (stage reports). */
  readonly onJson?: (event: Record<string, unknown>) => void;
  readonly cwd?: string;
}

export interface Child {
  readonly name: string;
  readonly pid: number;
  /** Resolves with the exit code (or the signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  /** Whether the process is still running. */
  running(): boolean;
  /** Peak resident set size (VmHWM) in bytes, read from /proc; undefined once it has exited. */
  peakRssBytes(): number | undefined;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has ended. */
  stop(graceMs?: number): Promise<number | string>;
}

/** Starts a child Node process. */
export async function startChild(spec: ChildSpec): Promise<Child> {
  await mkdir(dirname(spec.logFile), { recursive: true });
  const log = createWriteStream(spec.logFile, { flags: 'a' });
  const proc: ChildProcess = spawn(process.execPath, [...spec.args], {
    env: spec.env,
    cwd: spec.cwd ?? process.cwd(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (proc.pid === undefined) throw new Error(`${spec.name} did not start`);
  const pid = proc.pid;
  let ended = false;
  let lastPeak: number | undefined;
  const exited = new Promise<number | string>((resolve) => {
    proc.on('exit', (code, signal) => {
      ended = true;
      resolve(code ?? signal ?? -1);
    });
    proc.on('error', () => {
      ended = true;
      resolve(-1);
    });
  });
  // Keep the log open until both pipes are drained, then close it.
  const outDone = pipeLines(proc.stdout, log, spec.onJson);
  const errDone = pipeLines(proc.stderr, log);
  void Promise.all([outDone, errDone, exited]).then(() => log.end());

  const peakRssBytes = (): number | undefined => {
    if (ended) return lastPeak;
    const peak = readVmHwm(pid);
    if (peak !== undefined) lastPeak = peak;
    return peak ?? lastPeak;
  };

  return {
    name: spec.name,
    pid,
    exited,
    running: () => !ended,
    peakRssBytes,
    async stop(graceMs = 20_000) {
      if (ended) return exited;
      peakRssBytes();
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** VmHWM of a process in bytes, or undefined when it cannot be read (process gone, not Linux). */
export function readVmHwm(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmHWM:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

async function pipeLines(
  stream: NodeJS.ReadableStream | null,
  log: NodeJS.WritableStream,
  onJson?: (event: Record<string, unknown>) => void,
): Promise<void> {
  if (stream === null) return;
  for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
    log.write(`${line}\n`);
    if (onJson !== undefined && line.startsWith('{')) {
      try {
        const parsed: unknown = JSON.parse(line);
        if (typeof parsed === 'object' && parsed !== null) onJson(parsed as Record<string, unknown>);
      } catch {
        // Not a report line: it is in the log file anyway.
      }
    }
  }
}
