/**
 * `/readyz` against real dependencies: a Kafka broker of its own (started and stopped with the
 * stack script in a temporary home on free ports — the shared broker on 9092 is never touched),
 * the shared schema registry, and a service process started with an unreachable broker or registry.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistryProbe } from '@ehrflow/contracts';
import { createKafkaProbe } from '@ehrflow/kafka';
import { freePort, waitForValue } from '@ehrflow/testing';
import { createDependencyChecks, type DependencyChecks } from './dependency-checks.ts';
import { createServiceHttp, type ServiceHttp } from './service-http.ts';
import { capturingLogger } from './testing/capturing-logger.ts';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const STACK = join(REPO, 'deploy/local/stack');
const REGISTRY_URL = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7';
const SHARED_BROKER_PORT = 9092;

interface Readyz {
  readonly status: number;
  readonly checks: Record<string, boolean>;
}

/** Serves `/readyz` with the given dependency probes, on a free port. */
async function serve(
  probes: Parameters<typeof createDependencyChecks>[0],
  logger: ReturnType<typeof capturingLogger>['logger'],
): Promise<{ readyz: () => Promise<Readyz>; close: () => Promise<void> }> {
  const http: ServiceHttp = createServiceHttp({
    name: 'readiness-int',
    port: 0,
    host: '127.0.0.1',
    logger,
    readiness: () => true,
  });
  const deps: DependencyChecks = createDependencyChecks(probes, { logger, intervalMs: 500, timeoutMs: 1500 });
  deps.addTo(http);
  const { port } = await http.listen();
  return {
    readyz: async () => {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      const body = (await res.json()) as { checks: Record<string, boolean> };
      return { status: res.status, checks: body.checks };
    },
    close: async () => {
      await http.close();
      await deps.close();
    },
  };
}

describe('/readyz follows a real Kafka broker', () => {
  let home: string;
  let stackEnv: NodeJS.ProcessEnv;
  let kafkaPort: number;

  const stack = (command: 'up' | 'down') =>
    run('bash', [STACK, command, 'kafka'], { env: stackEnv, timeout: 180_000, maxBuffer: 1 << 20 });

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'ehrflow-readiness-'));
    kafkaPort = await freePort();
    let controllerPort = await freePort();
    while (controllerPort === kafkaPort) controllerPort = await freePort();
    expect(kafkaPort).not.toBe(SHARED_BROKER_PORT);
    stackEnv = {
      ...process.env,
      EHRFLOW_STACK_HOME: home,
      KAFKA_PORT: String(kafkaPort),
      KAFKA_CONTROLLER_PORT: String(controllerPort),
      KAFKA_HEAP: '-Xms128m -Xmx384m',
    };
    await stack('up');
    // The broker must be this home's own process, not something found listening on the port.
    expect(existsSync(join(home, 'run/kafka.pid'))).toBe(true);
  }, 180_000);

  afterAll(async () => {
    if (home === undefined) return;
    try {
      await stack('down');
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  }, 120_000);

  it('is ready, turns not ready when the broker stops, and ready again when it returns', async () => {
    const log = capturingLogger('readiness-int');
    const server = await serve(
      {
        kafka: createKafkaProbe(
          { brokers: `127.0.0.1:${kafkaPort}`, clientId: 'readiness-int', logger: log.logger, mode: 'test' },
          { timeoutMs: 1500 },
        ),
      },
      log.logger,
    );
    try {
      const up = await waitForValue(
        async () => {
          const r = await server.readyz();
          return r.status === 200 ? r : undefined;
        },
        { what: 'readyz 200', timeoutMs: 30_000, intervalMs: 250 },
      );
      expect(up.checks).toEqual({ lifecycle: true, service: true, kafka: true });

      await stack('down');
      const down = await waitForValue(
        async () => {
          const r = await server.readyz();
          return r.status === 503 ? r : undefined;
        },
        { what: 'readyz 503', timeoutMs: 30_000, intervalMs: 250 },
      );
      expect(down.checks).toEqual({ lifecycle: true, service: true, kafka: false });
      // Keep asking while it is down: the state is logged once, not on every probe.
      for (let i = 0; i < 6; i += 1) {
        expect((await server.readyz()).status).toBe(503);
        await new Promise((resolve) => setTimeout(resolve, 300));
      }

      await stack('up');
      const back = await waitForValue(
        async () => {
          const r = await server.readyz();
          return r.status === 200 ? r : undefined;
        },
        { what: 'readyz 200', timeoutMs: 60_000, intervalMs: 250 },
      );
      expect(back.checks.kafka).toBe(true);

      const changes = log.lines.filter((l) => l.dependency === 'kafka').map((l) => [l.msg, l.previous]);
      expect(changes).toEqual([
        ['dependency reachable', 'unknown'],
        ['dependency unreachable', 'reachable'],
        ['dependency reachable', 'unreachable'],
      ]);
      // Bounded probes answer inside the readiness timeout: no "readiness check failed" lines.
      expect(log.lines.filter((l) => l.msg === 'readiness check failed')).toEqual([]);
    } finally {
      await server.close();
    }
  });
});

describe('/readyz follows the schema registry', () => {
  it('is ready with the real registry and not ready with an unreachable one', async () => {
    const log = capturingLogger('readiness-int');
    const real = await serve({ registry: createRegistryProbe({ url: REGISTRY_URL }) }, log.logger);
    const unreachableUrl = `http://127.0.0.1:${await freePort()}/apis/ccompat/v7`;
    const dead = await serve({ registry: createRegistryProbe({ url: unreachableUrl }) }, log.logger);
    try {
      expect(await real.readyz()).toEqual({
        status: 200,
        checks: { lifecycle: true, service: true, registry: true },
      });
      expect(await dead.readyz()).toEqual({
        status: 503,
        checks: { lifecycle: true, service: true, registry: false },
      });
      expect(log.lines.find((l) => l.msg === 'dependency unreachable')).toMatchObject({
        dependency: 'registry',
        reason: 'REGISTRY_UNAVAILABLE',
      });
    } finally {
      await Promise.all([real.close(), dead.close()]);
    }
  });
});

describe('a service refuses to start without its dependencies', () => {
  // Secrets a leaky log would show; the test checks they never appear.
  const dataKey = randomBytes(32).toString('base64');
  const pseudonymKey = randomBytes(32).toString('base64');

  /** Runs the validator until it exits (killed after `timeoutMs`); returns its exit code and output. */
  function runValidator(env: Record<string, string>, timeoutMs: number) {
    return new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(process.execPath, [join(REPO, 'services/validator/src/main.ts')], {
        cwd: REPO,
        env: {
          PATH: process.env.PATH ?? '',
          KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
          SCHEMA_REGISTRY_URL: REGISTRY_URL,
          PHI_KEYRING: `readiness-int:${dataKey}`,
          PSEUDONYM_KEY: pseudonymKey,
          HTTP_PORT: '0',
          EHRFLOW_MODE: 'test',
          VALIDATOR_GROUP_ID: `readiness-int-${randomBytes(4).toString('hex')}`,
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr.on('data', (c: Buffer) => (output += c.toString()));
      const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('exit', (code) => {
        clearTimeout(killer);
        resolve({ code, output });
      });
    });
  }

  function fatalLine(output: string): Record<string, unknown> | undefined {
    return output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === 'service failed to start; exiting');
  }

  it('exits non-zero with KAFKA_UNAVAILABLE after its retries when the broker is unreachable', async () => {
    // kafkajs retries about 35 s (DEFAULT_KAFKA_RETRY) before the start gives up.
    const { code, output } = await runValidator({ KAFKA_BROKERS: '127.0.0.1:1' }, 100_000);
    expect(code).toBe(1);
    expect(fatalLine(output)).toMatchObject({ err: { code: 'KAFKA_UNAVAILABLE' } });
    expect(output).not.toContain(dataKey);
    expect(output).not.toContain(pseudonymKey);
  }, 110_000);

  it('exits non-zero with REGISTRY_UNAVAILABLE when the registry is unreachable', async () => {
    const url = `http://probe-user:s3cret-registry-pw@127.0.0.1:${await freePort()}/apis/ccompat/v7`;
    const { code, output } = await runValidator({ SCHEMA_REGISTRY_URL: url }, 60_000);
    expect(code).toBe(1);
    expect(fatalLine(output)).toMatchObject({ err: { code: 'REGISTRY_UNAVAILABLE' } });
    expect(output).not.toContain('s3cret-registry-pw');
    expect(output).not.toContain(dataKey);
  }, 70_000);
});
