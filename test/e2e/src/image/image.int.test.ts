/**
 * The product image, built here and run as Kubernetes runs it: `deploy/image/build.sh` builds it
 * on a base assembled locally (the pinned Node binary and its shared libraries; nothing is
 * pulled), then each service the image lists runs in its own container — read-only root file
 * system, no capabilities, the image's non-root user, host network — against the local stack on
 * topics, subjects, consumer groups and database schemas of this run. Each must answer `/readyz`
 * with 200, then stop on SIGTERM with exit code 0 and no error logged.
 *
 * Skipped with the reason in its title when podman cannot run here (no podman and no way to
 * install it) or when EHRFLOW_IMAGE_TEST=0.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry, type SchemaRegistry } from '@ehrflow/contracts';
import { createKafka, type Admin } from '@ehrflow/kafka';
import { createLogger } from '@ehrflow/logging';
import {
  createScratch,
  type EhrSetup,
  loadOrCreateSecrets,
  type PipelineServicesOptions,
  pipelineTopics,
  provisionPipeline,
  type Scratch,
  SERVICE_NAMES,
  serviceEnv,
  type ServiceName,
  startEhr,
} from '@ehrflow/pipeline-tools';
import { freePort, stackEnv, waitFor } from '@ehrflow/testing';
import {
  buildImage,
  containerLogs,
  containerState,
  podman,
  removeContainer,
  startContainer,
} from './podman.ts';

function canRunPodman(): boolean {
  if (process.env.EHRFLOW_IMAGE_TEST === '0') return false;
  for (const tool of ['podman', 'apt-get']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
      return true;
    } catch {
      // try the next: build.sh installs podman with apt-get when it is missing
    }
  }
  return false;
}

const enabled = canRunPodman();
const title = enabled
  ? 'the product image runs every service (readiness, SIGTERM)'
  : 'the product image — skipped: no podman here and no apt-get to install it, or EHRFLOW_IMAGE_TEST=0';

const runId = randomUUID().slice(0, 8);
const prefix = `e2e.img.${runId}.`;
const topics = pipelineTopics(prefix);
const groups = { validator: `${prefix}validator`, redactor: `${prefix}redactor`, loader: `${prefix}loader` };
const dbSchemas = { extractor: `e2e_img_${runId}_x`, loader: `e2e_img_${runId}_l` };
// One tag for every run: a rebuild replaces it and build.sh prunes what it replaced (the cached
// dependency layer stays), so the container storage does not grow run after run.
const tag = 'localhost/ehrflow:smoke';

interface Outcome {
  readonly listed: readonly string[];
  readonly smoked: readonly string[];
  readonly helpOnly: ReadonlyMap<string, boolean>;
  readonly ready: ReadonlyMap<string, number>;
  readonly exits: ReadonlyMap<string, number>;
  readonly errorLines: ReadonlyMap<string, number>;
  readonly user: string;
  readonly labels: Readonly<Record<string, string>>;
}

describe.skipIf(!enabled)(title, () => {
  const env = stackEnv();
  const containers: string[] = [];
  let workDir: string;
  let admin: Admin | undefined;
  let registry: SchemaRegistry | undefined;
  let scratch: Scratch | undefined;
  let ehr: EhrSetup | undefined;
  let outcome: Outcome;

  beforeAll(async () => {
    const image = await buildImage(tag);
    workDir = await mkdtemp(join(tmpdir(), `ehrflow-img-${runId}-`));
    const secrets = await loadOrCreateSecrets(join(workDir, 'secrets.env'));
    const logger = createLogger({ name: 'e2e-image', level: 'silent' });
    admin = createKafka({
      brokers: (env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
      clientId: `e2e-img-${runId}`,
      logger,
      mode: 'development',
    }).kafkajs.admin();
    await admin.connect();
    registry = createRegistry({ url: env.SCHEMA_REGISTRY_URL ?? '' });
    scratch = createScratch(admin, registry);
    await provisionPipeline(scratch, topics, env);
    ehr = await startEhr({
      seed: `e2e-img-${runId}`,
      sites: ['img'],
      patientsPerSite: 1,
      enforcedPerMinute: 0,
      publishedPerMinute: 600,
      tokenLifetimeSeconds: 300,
      sourcePrefix: `img-${runId}-`,
      dir: workDir,
    });
    // The container runs as uid 10001, as in the cluster where these files come from a Secret
    // mounted readable by the pod's group.
    await chmod(workDir, 0o755);
    for (const file of await readdir(workDir)) await chmod(join(workDir, file), 0o644);

    const listed = (await podman(['run', '--rm', '--network', 'host', '--read-only', image, '--help']))
      .split('\n')
      .map((line) => /^ {2}([a-z0-9-]+)$/.exec(line)?.[1])
      .filter((name): name is string => name !== undefined);
    const user = (await podman(['image', 'inspect', '--format', '{{.Config.User}}', image])).trim();
    const labels = JSON.parse(
      await podman(['image', 'inspect', '--format', '{{json .Labels}}', image]),
    ) as Record<string, string>;

    const options: PipelineServicesOptions = {
      env: {
        KAFKA_BROKERS: env.KAFKA_BROKERS,
        SCHEMA_REGISTRY_URL: env.SCHEMA_REGISTRY_URL,
        REDIS_URL: env.REDIS_URL,
        DATABASE_URL: env.DATABASE_URL,
        ...secrets,
        EHRFLOW_MODE: 'development',
        SHUTDOWN_TIMEOUT_MS: '20000',
      },
      topics,
      sourcesFile: ehr.sourcesFile,
      logDir: workDir,
      extractorDbSchema: dbSchemas.extractor,
      loaderDbSchema: dbSchemas.loader,
      groups,
    };
    const ports = new Map<string, number>();
    // The pipeline services run for real; a service the image lists that has no smoke environment
    // here yet (its own variables, ports) is only asked for --help, which must exit 0.
    const smoked = listed.filter((service) => (SERVICE_NAMES as readonly string[]).includes(service));
    const helpOnly = new Map<string, boolean>();
    for (const service of listed.filter((s) => !smoked.includes(s))) {
      const ok = await podman(['run', '--rm', '--read-only', image, service, '--help']).then(
        (out) => out.length > 0,
        () => false,
      );
      helpOnly.set(service, ok);
    }
    await Promise.all(
      smoked.map(async (service) => {
        const port = await freePort();
        ports.set(service, port);
        const name = `ehrflow-smoke-${runId}-${service}`;
        containers.push(name);
        // The image's own PATH and Node, not the host's.
        const vars = { ...serviceEnv(service as ServiceName, port, options), PATH: undefined };
        await startContainer({ name, image, args: [service], env: vars, mounts: [workDir] });
      }),
    );

    const ready = new Map<string, number>();
    await Promise.all(
      smoked.map(async (service) => {
        const name = `ehrflow-smoke-${runId}-${service}`;
        try {
          await waitFor(
            async () => {
              const state = await containerState(name);
              if (!state.running)
                throw new Error(`${service} exited with ${state.exitCode} before it was ready`);
              try {
                const res = await fetch(`http://127.0.0.1:${ports.get(service)}/readyz`, {
                  signal: AbortSignal.timeout(2_000),
                });
                await res.body?.cancel();
                ready.set(service, res.status);
                return res.status === 200;
              } catch {
                return false;
              }
            },
            { timeoutMs: 120_000, intervalMs: 500, what: `${service} in its container to be ready` },
          );
        } catch (err) {
          const logs = await containerLogs(name);
          throw new Error(
            `${(err as Error).message}\n--- last log lines:\n${logs.split('\n').slice(-15).join('\n')}`,
            {
              cause: err,
            },
          );
        }
      }),
    );

    const exits = new Map<string, number>();
    const errorLines = new Map<string, number>();
    await Promise.all(
      smoked.map(async (service) => {
        const name = `ehrflow-smoke-${runId}-${service}`;
        await podman(['kill', '--signal', 'TERM', name]);
        await waitFor(async () => !(await containerState(name)).running, {
          timeoutMs: 30_000,
          intervalMs: 250,
          what: `${service} to stop after SIGTERM`,
        });
        exits.set(service, (await containerState(name)).exitCode);
        const logs = await containerLogs(name);
        errorLines.set(service, logs.split('\n').filter((line) => /"level":(50|60)/.test(line)).length);
      }),
    );
    outcome = { listed, smoked, helpOnly, ready, exits, errorLines, user, labels };
  }, 420_000);

  afterAll(async () => {
    for (const name of containers) await removeContainer(name);
    await ehr?.stop();
    await scratch?.cleanUp();
    await admin?.deleteGroups(Object.values(groups)).catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
    await registry?.close().catch(() => undefined);
    const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 1 });
    for (const schema of Object.values(dbSchemas))
      await pool.query(`drop schema if exists "${schema}" cascade`).catch(() => undefined);
    await pool.end();
    if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
  }, 120_000);

  it('lists every pipeline service and runs as a non-root user', () => {
    expect(outcome.listed).toEqual(expect.arrayContaining([...SERVICE_NAMES]));
    expect(outcome.user).toMatch(/^[1-9][0-9]*(:[0-9]+)?$/);
  });

  it('carries the OCI labels: source, version and the revision it was built from', () => {
    const revision = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    expect(outcome.labels['org.opencontainers.image.revision']).toBe(revision);
    expect(outcome.labels['org.opencontainers.image.version']).toMatch(/\S/);
    expect(outcome.labels['org.opencontainers.image.source']).toMatch(/\S/);
  });

  it('each service answers /readyz with 200 from its container', () => {
    for (const service of outcome.smoked)
      expect([service, outcome.ready.get(service)]).toEqual([service, 200]);
  });

  it('each service exits 0 after SIGTERM, with no error logged', () => {
    for (const service of outcome.smoked) {
      expect([service, outcome.exits.get(service)]).toEqual([service, 0]);
      expect([service, outcome.errorLines.get(service)]).toEqual([service, 0]);
    }
  });

  it('every other service in the image answers --help (no smoke environment for it here yet)', () => {
    for (const [service, ok] of outcome.helpOnly) expect([service, ok]).toEqual([service, true]);
  });
});
