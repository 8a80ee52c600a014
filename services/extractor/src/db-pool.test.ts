import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createDbPool } from './db-pool.ts';

/** A server that accepts TCP connections and never answers: a database stuck at its limit, a dead VPN. */
async function silentServer(): Promise<{ server: Server; port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((s) => void sockets.push(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address !== null ? address.port : 0, sockets };
}

describe('createDbPool', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it('fails a checkout that cannot connect within the timeout instead of waiting forever', async () => {
    const { server, port, sockets } = await silentServer();
    const pool = createDbPool({
      connectionString: `postgres://u@127.0.0.1:${port}/db`,
      connectTimeoutMs: 300,
    });
    cleanup = async () => {
      await pool.end().catch(() => undefined);
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    };
    const started = Date.now();
    await expect(pool.connect()).rejects.toThrow(/timeout/i);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('fails a checkout that waits for a free client longer than the timeout (exhausted pool)', async () => {
    const { server, port, sockets } = await silentServer();
    const pool = createDbPool({
      connectionString: `postgres://u@127.0.0.1:${port}/db`,
      max: 1,
      connectTimeoutMs: 300,
    });
    cleanup = async () => {
      await pool.end().catch(() => undefined);
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    };
    // The only slot is busy with a checkout that is still connecting; the second one queues.
    const first = pool.connect().catch((err: unknown) => err);
    const started = Date.now();
    await expect(pool.connect()).rejects.toThrow(/timeout/i);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(pool.waitingCount).toBe(0);
    await first;
  });
});
