/**
 * A receiver restarted while the schema registry is unreachable (a registry outage, or PostgreSQL
 * restarting under it): start-up waits for it instead of exiting, and starts once it is back.
 * Real Redis and the real registry, reached through a port that first refuses connections and
 * then forwards to the registry.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalText, createRegistry } from '@ehrflow/contracts';
import { isPipelineError } from '@ehrflow/errors';
import { freePort, REPO_ROOT, stackEnv, waitFor } from '@ehrflow/testing';
import { openReceiverBase, type ReceiverBaseOptions } from './receiver-base.ts';
import { capturingLogger } from './testing/capturing-logger.ts';

const env = stackEnv();
const REGISTRY_URL = env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7';
const subject = `rb${randomBytes(4).toString('hex')}.raw-value`;

/** A TCP forwarder to the registry on `port`, opened only when the outage is over. */
function forwarder(port: number, target: URL): Promise<Server> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  server.on('close', () => {
    for (const s of sockets) s.destroy();
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

function options(
  registryPort: number,
  logger: ReceiverBaseOptions['logger'],
  startWaitMs: number,
): ReceiverBaseOptions {
  const registryUrl = new URL(REGISTRY_URL);
  registryUrl.port = String(registryPort);
  registryUrl.hostname = '127.0.0.1';
  return {
    config: {
      KAFKA_BROKERS: (env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
      EHRFLOW_MODE: 'development',
      REDIS_URL: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      SCHEMA_REGISTRY_URL: registryUrl.toString().replace(/\/$/, ''),
    },
    env,
    logger,
    subjects: [subject],
    defaultClientId: 'ehrflow-receiver-base-int',
    startWaitMs,
  };
}

describe('openReceiverBase while the registry is unreachable', () => {
  const servers: Server[] = [];

  beforeAll(async () => {
    const registry = createRegistry({ url: REGISTRY_URL });
    const schema = JSON.parse(
      await readFile(join(REPO_ROOT, 'schemas', 'pipeline', 'raw-envelope.avsc'), 'utf8'),
    );
    await registry.register(subject, canonicalText(schema));
    await registry.close();
  });

  afterAll(async () => {
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
  });

  it('waits for the registry and starts once it answers', async () => {
    const port = await freePort();
    const { logger, lines } = capturingLogger('receiver-base-int');
    const opening = openReceiverBase(options(port, logger, 60_000));
    const waits = () => lines.filter((l) => l.msg === 'dependency unavailable at start; waiting');
    // Start-up is waiting, not failed: it has logged a wait for the registry.
    await waitFor(() => waits().length >= 2, { timeoutMs: 30_000, what: 'a start-up wait for the registry' });
    expect(waits()[0]).toMatchObject({ dependency: 'registry', code: 'REGISTRY_UNAVAILABLE' });
    servers.push(await forwarder(port, new URL(REGISTRY_URL)));
    const base = await opening;
    try {
      expect((await base.codec.latestVersion(subject)).version).toBeGreaterThan(0);
      expect(base.redis.status).toBe('ready');
    } finally {
      await base.close();
    }
  }, 90_000);

  it('gives up after its wait with the dependency error itself, having closed what it opened', async () => {
    const port = await freePort();
    const { logger, lines } = capturingLogger('receiver-base-int');
    const started = Date.now();
    const err: unknown = await openReceiverBase(options(port, logger, 1_500)).catch((e: unknown) => e);
    expect(isPipelineError(err) ? err.code : err).toBe('REGISTRY_UNAVAILABLE');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
    expect(lines.some((l) => l.msg === 'dependency unavailable at start; waiting')).toBe(true);
  }, 60_000);

  it('does not wait for a subject that is not registered (a permanent failure)', async () => {
    const { logger, lines } = capturingLogger('receiver-base-int');
    const registryPort = Number(new URL(REGISTRY_URL).port);
    const opts = options(registryPort, logger, 60_000);
    const err: unknown = await openReceiverBase({ ...opts, subjects: [`${subject}-missing`] }).catch(
      (e: unknown) => e,
    );
    expect(isPipelineError(err) ? err.code : err).toBe('SCHEMA_NOT_REGISTERED');
    expect(lines.some((l) => l.msg === 'dependency unavailable at start; waiting')).toBe(false);
  }, 60_000);
});
