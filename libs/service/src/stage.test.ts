import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const FIXTURE = fileURLToPath(new URL('./stage.fixture.ts', import.meta.url));
// Generous: each case starts a Node process, which a loaded CI machine can take seconds to do.
const BOUND_MS = 45_000;
const TEST_MS = 60_000;
const SECRET = 'Canary-Sasl-Passw0rd';

/** Enough for `pipelineEnv`; Kafka and the registry point at closed ports (never reached in start). */
const BASE_ENV = {
  KAFKA_BROKERS: '127.0.0.1:1',
  SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1',
  PHI_KEYRING: 'k1:AAAA',
  PSEUDONYM_KEY: 'AAAA',
  HTTP_PORT: '0',
  EHRFLOW_MODE: 'production',
};

interface Run {
  readonly output: () => string;
  waitFor(text: string): Promise<string>;
  readonly exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
}

const children: { kill(): void }[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill();
});

function run(env: Record<string, string>, args: string[] = []): Run {
  const child = spawn(process.execPath, [FIXTURE, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push({ kill: () => child.kill('SIGKILL') });
  let text = '';
  const waiters: { text: string; resolve: (line: string) => void }[] = [];
  const take = (chunk: string) => {
    text += chunk;
    for (const w of waiters.filter((x) => text.includes(x.text))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(text.split('\n').find((l) => l.includes(w.text)) ?? '');
    }
  };
  child.stdout.setEncoding('utf8').on('data', take);
  child.stderr.setEncoding('utf8').on('data', take);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    output: () => text,
    waitFor: (wanted) =>
      new Promise((resolve, reject) => {
        if (text.includes(wanted)) return resolve(text.split('\n').find((l) => l.includes(wanted)) ?? '');
        const timer = setTimeout(() => reject(new Error(`no "${wanted}" within ${BOUND_MS} ms`)), BOUND_MS);
        waiters.push({
          text: wanted,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
      }),
    exited,
    kill: (signal) => child.kill(signal),
  };
}

describe('runStage', () => {
  it(
    'prints the usage for --help and exits 0 without reading the environment',
    async () => {
      const r = run({}, ['--help']);
      expect(await r.exited).toBe(0);
      expect(r.output()).toContain('Usage: node stage.fixture.ts');
    },
    TEST_MS,
  );

  it(
    'exits 78 naming every invalid variable, Kafka transport included, never a value',
    async () => {
      const missing = run({});
      expect(await missing.exited).toBe(78);
      expect(missing.output()).toMatch(/KAFKA_BROKERS: is required/);
      expect(missing.output()).toMatch(/SCHEMA_REGISTRY_URL: is required/);

      const transport = run({
        ...BASE_ENV,
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_PASSWORD: SECRET,
      });
      expect(await transport.exited).toBe(78);
      expect(transport.output()).toContain(
        'KAFKA_SASL_USERNAME: is required when KAFKA_SASL_MECHANISM is set',
      );
      expect(transport.output()).not.toContain(SECRET);
    },
    TEST_MS,
  );

  it(
    'logs the plaintext warning once, serves its probes and own routes, and drains on SIGTERM',
    async () => {
      const r = run(BASE_ENV);
      const started = JSON.parse(await r.waitFor('fixture-stage started')) as {
        port: number;
        clientId: string;
      };
      expect(started.clientId).toBe('ehrflow-fixture-stage');
      const warning = JSON.parse(await r.waitFor('plaintext')) as { reason: string; client: string };
      expect(warning).toMatchObject({ client: 'kafka', reason: 'plaintext-outside-development' });
      // Once per process, however many clients the stage makes (the fixture makes two).
      expect(
        r
          .output()
          .split('\n')
          .filter((line) => line.includes('plaintext')),
      ).toHaveLength(1);

      const base = `http://127.0.0.1:${started.port}`;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect(await (await fetch(`${base}/own`)).json()).toEqual({ own: true });
      expect((await fetch(`${base}/metrics`)).status).toBe(200);
      // Kafka and the registry are unreachable: not ready, and the report names both checks.
      const readyz = await fetch(`${base}/readyz`);
      expect(readyz.status).toBe(503);
      const body = (await readyz.json()) as { checks: Record<string, boolean> };
      expect(body.checks).toMatchObject({ service: true, kafka: false, registry: false });

      r.kill('SIGTERM');
      expect(await r.exited).toBe(0);
    },
    TEST_MS,
  );

  it(
    'drains and exits 1 when the stage work fails permanently',
    async () => {
      const r = run({ ...BASE_ENV, EHRFLOW_MODE: 'development', STAGE_FIXTURE_MODE: 'fail' });
      expect(await r.exited).toBe(1);
      expect(r.output()).toContain('fixture-stage failed permanently');
      expect(r.output()).not.toContain('plaintext');
    },
    TEST_MS,
  );
});
