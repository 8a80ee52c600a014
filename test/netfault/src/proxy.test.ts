import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createFaultProxy, type FaultProxy } from './proxy.ts';

// Real sockets on loopback: a small server behind the proxy, a client in front of it.

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** A server that answers each chunk with the same bytes, or sends `sendBytes` at connect. */
async function server(
  mode: { echo: true } | { sendBytes: number },
): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
    if ('echo' in mode) socket.pipe(socket);
    else socket.end(Buffer.alloc(mode.sendBytes, 7));
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  closers.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => srv.close(() => r()));
  });
  return { port: (srv.address() as net.AddressInfo).port, connections: () => connections };
}

async function proxyTo(port: number, seed = 'unit'): Promise<FaultProxy> {
  const proxy = await createFaultProxy({ target: { host: '127.0.0.1', port }, seed });
  closers.push(() => proxy.close());
  return proxy;
}

interface Outcome {
  readonly bytes: number;
  readonly error: string | undefined;
  readonly ms: number;
}

/** Connects, optionally writes, reads until end/error/timeout; the error code or 'timeout'. */
async function exchange(port: number, write?: Buffer, timeoutMs = 5_000, until?: number): Promise<Outcome> {
  const started = performance.now();
  const socket = net.connect(port, '127.0.0.1');
  let bytes = 0;
  return new Promise((resolve) => {
    const done = (error: string | undefined): void => {
      socket.destroy();
      clearTimeout(timer);
      resolve({ bytes, error, ms: performance.now() - started });
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    socket.on('connect', () => {
      if (write !== undefined) socket.write(write);
    });
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (until !== undefined && bytes >= until) done(undefined);
    });
    socket.on('end', () => done(undefined));
    socket.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? 'error'));
  });
}

describe('fault proxy', () => {
  it('forwards bytes unchanged in both directions without faults', async () => {
    const echo = await server({ echo: true });
    const proxy = await proxyTo(echo.port);
    const payload = Buffer.from('x'.repeat(100_000));
    const out = await exchange(proxy.port, payload, 5_000, payload.length);
    expect(out).toMatchObject({ bytes: payload.length, error: undefined });
    expect(proxy.counters()).toMatchObject({ bytesUp: payload.length, bytesDown: payload.length, resets: 0 });
  });

  it('adds latency to every chunk, in each direction', async () => {
    const echo = await server({ echo: true });
    const proxy = await proxyTo(echo.port);
    const before = await exchange(proxy.port, Buffer.from('ping'), 5_000, 4);
    const fault = proxy.apply({ kind: 'latency', ms: 150, jitterMs: 20 }, 10_000);
    const slow = await exchange(proxy.port, Buffer.from('ping'), 5_000, 4);
    fault.stop();
    await fault.ended;
    const after = await exchange(proxy.port, Buffer.from('ping'), 5_000, 4);
    // Round trip: 150 ms out, 150 ms back.
    expect(slow.ms).toBeGreaterThanOrEqual(300);
    expect(slow.ms).toBeLessThan(2_000);
    expect(before.ms).toBeLessThan(150);
    expect(after.ms).toBeLessThan(150);
  });

  it('caps bandwidth', async () => {
    const sender = await server({ sendBytes: 96 * 1024 });
    const proxy = await proxyTo(sender.port);
    proxy.apply({ kind: 'bandwidth', bytesPerSecond: 48 * 1024 }, 20_000);
    const out = await exchange(proxy.port, undefined, 10_000);
    expect(out.bytes).toBe(96 * 1024);
    // 96 KiB at 48 KiB/s: about 2 s (one tenth of a second of burst at most).
    expect(out.ms).toBeGreaterThanOrEqual(1_800);
    expect(out.ms).toBeLessThan(6_000);
  });

  it('resets a connection after N bytes from the server: the client sees ECONNRESET', async () => {
    const sender = await server({ sendBytes: 500_000 });
    const proxy = await proxyTo(sender.port);
    proxy.apply({ kind: 'reset', afterBytes: 20_000 }, 10_000);
    const out = await exchange(proxy.port);
    expect(out.error).toBe('ECONNRESET');
    expect(out.bytes).toBeLessThanOrEqual(20_000);
    expect(proxy.counters().resets).toBe(1);
  });

  it('resets connections with a probability, the same ones for the same seed', async () => {
    const sender = await server({ sendBytes: 50_000 });
    const run = async (seed: string): Promise<string[]> => {
      const proxy = await proxyTo(sender.port, seed);
      proxy.apply({ kind: 'reset', probability: 0.5, afterBytes: 1_000, afterBytesJitter: 5_000 }, 30_000);
      const outcomes: string[] = [];
      for (let i = 0; i < 16; i++) outcomes.push((await exchange(proxy.port)).error ?? 'ok');
      return outcomes;
    };
    const first = await run('seed-1');
    expect(first.filter((o) => o === 'ECONNRESET').length).toBeGreaterThan(2);
    expect(first.filter((o) => o === 'ok').length).toBeGreaterThan(2);
    expect(await run('seed-1')).toEqual(first);
  });

  it('black hole: accepts and never answers, so only the client timeout ends the exchange', async () => {
    const echo = await server({ echo: true });
    const proxy = await proxyTo(echo.port);
    const hole = proxy.apply({ kind: 'blackhole' }, 10_000);
    const out = await exchange(proxy.port, Buffer.from('hello?'), 400);
    expect(out.error).toBe('timeout');
    expect(out.bytes).toBe(0);
    expect(echo.connections()).toBe(0);
    expect(proxy.counters().held).toBe(1);
    hole.stop();
    expect((await exchange(proxy.port, Buffer.from('hi'), 2_000, 2)).error).toBeUndefined();
  });

  it('black hole on existing connections: forwarding stops mid-stream and resumes after the fault', async () => {
    const echo = await server({ echo: true });
    const proxy = await proxyTo(echo.port);
    const socket = net.connect(proxy.port, '127.0.0.1');
    closers.push(() => Promise.resolve(void socket.destroy()));
    await once(socket, 'connect');
    socket.write('a');
    await once(socket, 'data');
    const stall = proxy.apply({ kind: 'blackhole', existing: true }, 600);
    const sent = Date.now();
    socket.write('b');
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    expect(chunk.toString()).toBe('b');
    expect(Date.now() - sent).toBeGreaterThanOrEqual(500);
    await stall.ended;
  });

  it('link down: connections are refused, open ones reset, and the link comes back by itself', async () => {
    const echo = await server({ echo: true });
    const proxy = await proxyTo(echo.port);
    const open = net.connect(proxy.port, '127.0.0.1');
    await once(open, 'connect');
    const openError = once(open, 'error');
    const down = proxy.apply({ kind: 'down' }, 800);
    expect(((await openError) as [NodeJS.ErrnoException])[0].code).toBe('ECONNRESET');
    expect((await exchange(proxy.port, Buffer.from('x'))).error).toBe('ECONNREFUSED');
    await down.ended;
    // Re-listening on the same port happens right after the fault ends.
    let back: Outcome | undefined;
    for (let i = 0; i < 20 && back?.error !== undefined; i++)
      back = await exchange(proxy.port, Buffer.from('x'), 2_000, 1);
    back ??= await exchange(proxy.port, Buffer.from('x'), 2_000, 1);
    expect(back.error).toBeUndefined();
    expect(proxy.counters().downs).toBe(1);
  });

  it('flaps: down and up again and again while the fault lasts', async () => {
    const echo = await server({ echo: true });
    const proxy = await proxyTo(echo.port);
    const flap = proxy.apply({ kind: 'flap', downMs: 150, upMs: 150 }, 1_000);
    const seen = new Set<string>();
    const deadline = Date.now() + 900;
    while (Date.now() < deadline) {
      seen.add((await exchange(proxy.port, Buffer.from('x'), 500, 1)).error ?? 'ok');
      await new Promise((r) => setTimeout(r, 40));
    }
    await flap.ended;
    expect(seen.has('ECONNREFUSED')).toBe(true);
    expect(seen.has('ok')).toBe(true);
    expect(proxy.counters().downs).toBeGreaterThanOrEqual(3);
  });

  it('faults are bounded: they end by themselves, and a fault without a sane duration is refused', async () => {
    const echo = await server({ echo: true });
    const proxy = await proxyTo(echo.port);
    const started = Date.now();
    await proxy.apply({ kind: 'latency', ms: 1_000 }, 200).ended;
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(() => proxy.apply({ kind: 'down' }, 0)).toThrow(RangeError);
    expect(() => proxy.apply({ kind: 'down' }, 3_600_000)).toThrow(RangeError);
    expect(() => proxy.apply({ kind: 'reset', probability: 2 }, 1_000)).toThrow(RangeError);
  });

  it('close() ends every fault and connection', async () => {
    const echo = await server({ echo: true });
    const proxy = await proxyTo(echo.port);
    const hole = proxy.apply({ kind: 'blackhole' }, 60_000);
    const pending = exchange(proxy.port, Buffer.from('x'), 5_000);
    await new Promise((r) => setTimeout(r, 100));
    await proxy.close();
    await hole.ended;
    const out = await pending;
    expect(out.error).not.toBe('timeout');
    expect((await exchange(proxy.port)).error).toBe('ECONNREFUSED');
  });
});
