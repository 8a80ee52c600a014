/**
 * The fault suite's own stack: Kafka, the registry, PostgreSQL and Redis on a port block and a
 * stack home of their own (deploy/local/stack with STACK_OWN_POSTGRES=1), so that stopping them
 * never touches the shared stack or the system's servers. Every process is started and stopped by
 * the stack script through its pid file (PostgreSQL: pg_ctl on its data directory).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '@ehrflow/testing';
import type { StackDependency } from './scenario.ts';

const run = promisify(execFile);

/** Ports of a private stack: `base` + 92 (Kafka), 93 (controller), 81 (registry), 79 (Redis), 32 (PostgreSQL). */
export interface StackPorts {
  readonly kafka: number;
  readonly controller: number;
  readonly registry: number;
  readonly redis: number;
  readonly postgres: number;
}

export function stackPorts(base: number): StackPorts {
  return {
    kafka: base + 92,
    controller: base + 93,
    registry: base + 81,
    redis: base + 79,
    postgres: base + 32,
  };
}

export interface StackEnv {
  readonly KAFKA_BROKERS: string;
  readonly SCHEMA_REGISTRY_URL: string;
  readonly REDIS_URL: string;
  readonly DATABASE_URL: string;
}

export interface PrivateStack {
  readonly home: string;
  readonly ports: StackPorts;
  /** The variables services need to reach this stack. */
  readonly env: StackEnv;
  /** Starts every component (idempotent) and the product's topics. */
  up(): Promise<void>;
  /** Stops every component this stack started. */
  down(): Promise<void>;
  stop(dep: StackDependency): Promise<void>;
  /** Starts a component again and waits until it answers (the script's bounded wait). */
  start(dep: StackDependency): Promise<void>;
  /**
   * `kill -9` of a component the stack script started (Kafka, the registry: their pid files), then
   * a bounded wait until the process is gone. No clean shutdown: the host crashed.
   */
  kill(dep: 'kafka' | 'registry'): Promise<void>;
  /** Which components answer now. */
  status(): Promise<Record<StackDependency, boolean>>;
}

export interface PrivateStackOptions {
  readonly home: string;
  readonly portBase: number;
  /** Lines the stack script prints. */
  readonly log: (line: string) => void;
  /** Bound of each start in seconds (the script's STACK_WAIT_SECONDS). */
  readonly waitSeconds?: number;
}

export function privateStack(options: PrivateStackOptions): PrivateStack {
  const ports = stackPorts(options.portBase);
  const scriptEnv: NodeJS.ProcessEnv = {
    ...process.env,
    EHRFLOW_STACK_HOME: options.home,
    KAFKA_PORT: String(ports.kafka),
    KAFKA_CONTROLLER_PORT: String(ports.controller),
    REGISTRY_PORT: String(ports.registry),
    REDIS_PORT: String(ports.redis),
    PG_PORT: String(ports.postgres),
    STACK_OWN_POSTGRES: '1',
    STACK_WAIT_SECONDS: String(options.waitSeconds ?? 240),
    // Smaller heaps than the shared stack's: the suite's stack carries one demo-sized run at a time.
    KAFKA_HEAP: '-Xms128m -Xmx512m',
    REGISTRY_HEAP: '-Xms64m -Xmx384m',
  };
  const stack = async (...args: string[]): Promise<void> => {
    try {
      const { stdout } = await run('bash', [join(REPO_ROOT, 'deploy', 'local', 'stack'), ...args], {
        env: scriptEnv,
        timeout: ((options.waitSeconds ?? 240) + 120) * 1000,
        maxBuffer: 4 * 1024 * 1024,
      });
      for (const line of stdout.split('\n')) if (line.trim() !== '') options.log(line);
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      for (const line of `${e.stdout ?? ''}\n${e.stderr ?? ''}`.split('\n'))
        if (line.trim() !== '') options.log(line);
      throw new Error(`deploy/local/stack ${args.join(' ')} failed`);
    }
  };
  const env: StackEnv = {
    KAFKA_BROKERS: `127.0.0.1:${ports.kafka}`,
    SCHEMA_REGISTRY_URL: `http://127.0.0.1:${ports.registry}/apis/ccompat/v7`,
    REDIS_URL: `redis://127.0.0.1:${ports.redis}`,
    DATABASE_URL: `postgres://postgres@127.0.0.1:${ports.postgres}/postgres`,
  };
  return {
    home: options.home,
    ports,
    env,
    up: () => stack('up'),
    down: () => stack('down'),
    stop: (dep) => stack('down', dep),
    async start(dep) {
      await stack('up', dep);
    },
    async kill(dep) {
      const pid = Number((await readFile(join(options.home, 'run', `${dep}.pid`), 'utf8')).trim());
      if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no pid file of ${dep} in the stack home`);
      options.log(`[stack] ${dep}: kill -9 (pid ${pid})`);
      process.kill(pid, 'SIGKILL');
      const deadline = Date.now() + 30_000;
      while (alive(pid)) {
        if (Date.now() > deadline) throw new Error(`${dep} (pid ${pid}) still runs 30 s after kill -9`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async status() {
      const [kafka, registry, postgres, redis] = await Promise.all([
        portOpen(ports.kafka),
        portOpen(ports.registry),
        portOpen(ports.postgres),
        portOpen(ports.redis),
      ]);
      return { kafka, registry, postgres, redis };
    },
  };
}

/** Ports of the block that something already listens on (before the suite starts its stack). */
export async function busyPorts(ports: StackPorts): Promise<number[]> {
  const all = [ports.kafka, ports.controller, ports.registry, ports.redis, ports.postgres];
  const open = await Promise.all(all.map((p) => portOpen(p)));
  return all.filter((_, i) => open[i] === true);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
