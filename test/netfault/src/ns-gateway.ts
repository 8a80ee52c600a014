import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NetLink } from './netns.ts';

const FORWARDER = fileURLToPath(new URL('./ns-forwarder.ts', import.meta.url));

/** A server on the host's loopback made reachable at `host:port` across a namespace link. */
export interface NetnsGateway {
  /** The link's namespace address. */
  readonly host: string;
  readonly port: number;
  /** `url` with its host and port replaced by the gateway's (paths kept). */
  rewrite(url: string): string;
  close(): Promise<void>;
}

/**
 * Puts `link` between clients on the host and `target` (a server on the host, e.g. the EHR
 * simulator on 127.0.0.1): clients connect to `<link.nsAddress>:<port>`, cross the link (its
 * loss, shaping and outages), and a forwarder in the namespace hands each connection back to
 * the host over a Unix socket, to `target`. The target needs no change and stays on loopback.
 */
export async function openNetnsGateway(
  link: NetLink,
  target: { readonly host: string; readonly port: number },
): Promise<NetnsGateway> {
  const path = join(tmpdir(), `ehrnf-${process.pid}-${randomBytes(4).toString('hex')}.sock`);
  const sockets = new Set<net.Socket>();
  const bridge = net.createServer((inner) => {
    const upstream = net.connect(target.port, target.host);
    for (const s of [inner, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    }
    inner.on('error', () => upstream.destroy());
    upstream.on('error', () => inner.destroy());
    inner.pipe(upstream).pipe(inner);
  });
  bridge.listen(path);
  await once(bridge, 'listening');
  const closeBridge = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => bridge.close(() => r()));
    rmSync(path, { force: true });
  };

  const child = link.spawn([process.execPath, FORWARDER, link.nsAddress, '0', path]);
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('the namespace forwarder did not start within 15 s')),
        15_000,
      );
      child.stdout?.once('data', (chunk: Buffer) => {
        clearTimeout(timer);
        const match = /listening (\d+)/.exec(chunk.toString('utf8'));
        if (match === null) reject(new Error('the namespace forwarder did not say where it listens'));
        else resolve(Number(match[1]));
      });
      child.once('exit', () => {
        clearTimeout(timer);
        reject(new Error('the namespace forwarder exited'));
      });
    });
  } catch (err) {
    child.kill('SIGKILL');
    await closeBridge();
    throw err;
  }
  return {
    host: link.nsAddress,
    port,
    rewrite(url) {
      const next = new URL(url);
      next.hostname = link.nsAddress;
      next.port = String(port);
      return next.toString();
    },
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }
      await closeBridge();
    },
  };
}
