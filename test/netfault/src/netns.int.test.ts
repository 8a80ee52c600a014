import { once } from 'node:events';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from './commands.ts';
import { cleanupStaleLinks, createNetLink, NETNS_PREFIX, netnsSupport, type NetLink } from './netns.ts';
import { openNetnsGateway } from './ns-gateway.ts';

// A real namespace and veth pair: a server inside, the test outside. Skipped, with the reason,
// where namespaces cannot be made (not root, no iproute2).

const support = await netnsSupport();
const SEND_BYTES = 2 * 1024 * 1024;
// Inside the namespace: on each connection, send SEND_BYTES and close.
const SERVER = `const net=require('node:net');const [h,p,n]=process.argv.slice(1);
net.createServer((s)=>{s.on('error',()=>{});s.end(Buffer.alloc(Number(n),7));}).listen(Number(p),h,()=>process.stdout.write('up\\n'));`;
const PORT = 18_080;

describe.skipIf(!support.ok)(
  `network-namespace link${support.ok ? '' : ` (skipped: ${support.reason})`}`,
  () => {
    let link: NetLink;
    beforeAll(async () => {
      await cleanupStaleLinks();
      link = await createNetLink();
      const server = link.spawn([
        process.execPath,
        '-e',
        SERVER,
        link.nsAddress,
        String(PORT),
        String(SEND_BYTES),
      ]);
      await new Promise<void>((resolve, reject) => {
        server.stdout?.once('data', () => resolve());
        server.once('exit', () => reject(new Error('the namespace server exited')));
      });
    });
    afterAll(async () => {
      await link?.destroy();
    });

    const download = (timeoutMs: number): Promise<{ bytes: number; ms: number; error?: string }> =>
      new Promise((resolve) => {
        const started = performance.now();
        const socket = net.connect(PORT, link.nsAddress);
        let bytes = 0;
        const done = (error?: string): void => {
          clearTimeout(timer);
          socket.destroy();
          resolve({ bytes, ms: performance.now() - started, ...(error === undefined ? {} : { error }) });
        };
        const timer = setTimeout(() => done('timeout'), timeoutMs);
        socket.on('data', (c: Buffer) => (bytes += c.length));
        socket.on('end', () => done());
        socket.on('error', (e: NodeJS.ErrnoException) => done(e.code));
      });

    it('carries traffic without faults', async () => {
      const out = await download(10_000);
      expect(out).toMatchObject({ bytes: SEND_BYTES });
      expect(out.error).toBeUndefined();
    });

    it('loses packets: TCP retransmits and still delivers every byte', async () => {
      const before = await link.stats();
      const fault = await link.loss(0.1, 30_000);
      const out = await download(30_000);
      const after = await link.stats();
      await fault.stop();
      expect(out.bytes).toBe(SEND_BYTES);
      expect(fault.effective).toBeGreaterThan(0.05);
      if (link.lossMethod === 'tc-u32')
        expect(after.droppedPackets - before.droppedPackets).toBeGreaterThan(20);
      expect(after.nsRetransmits - before.nsRetransmits).toBeGreaterThan(10);
      console.info(
        `loss ${fault.effective} (${link.lossMethod}): ${SEND_BYTES} bytes in ${Math.round(out.ms)} ms, ` +
          `${after.droppedPackets - before.droppedPackets} dropped, ${after.nsRetransmits - before.nsRetransmits} retransmitted`,
      );
    });

    it('limits bandwidth with tbf', async () => {
      const fault = await link.bandwidth(8 * 1024 * 1024, 30_000); // 1 MiB/s
      const out = await download(30_000);
      await fault.stop();
      expect(out.bytes).toBe(SEND_BYTES);
      // 2 MiB at 1 MiB/s: about 2 s.
      expect(out.ms).toBeGreaterThan(1_600);
      const free = await download(10_000);
      expect(free.ms).toBeLessThan(out.ms / 2);
    });

    it('link down: a connect hangs until the client gives up; the link comes back by itself', async () => {
      const fault = await link.down(1_500);
      const hung = await download(700);
      expect(hung.error).toBe('timeout');
      expect(hung.bytes).toBe(0);
      await fault.ended;
      expect((await download(10_000)).bytes).toBe(SEND_BYTES);
    });

    it('flaps: a download across down/up cycles stalls and completes', async () => {
      const fault = await link.flap(400, 400, 2_000);
      const out = await download(20_000);
      await fault.ended;
      expect(out.bytes).toBe(SEND_BYTES);
      expect((await link.stats()).droppedPackets).toBeGreaterThan(0);
    });

    it('gateway: a server on the host loopback reached across the link, its faults included', async () => {
      const sender = net.createServer((s) => s.end(Buffer.alloc(SEND_BYTES, 3)));
      sender.listen(0, '127.0.0.1');
      await once(sender, 'listening');
      const gateway = await openNetnsGateway(link, {
        host: '127.0.0.1',
        port: (sender.address() as net.AddressInfo).port,
      });
      try {
        expect(gateway.rewrite('http://127.0.0.1:1/site-a/fhir')).toBe(
          `http://${link.nsAddress}:${gateway.port}/site-a/fhir`,
        );
        const received = (): Promise<number> =>
          new Promise((resolve, reject) => {
            let bytes = 0;
            const socket = net.connect(gateway.port, gateway.host);
            socket.on('data', (c: Buffer) => (bytes += c.length));
            socket.on('end', () => resolve(bytes));
            socket.on('error', reject);
          });
        expect(await received()).toBe(SEND_BYTES);
        const before = await link.stats();
        const loss = await link.loss(0.1, 30_000);
        expect(await received()).toBe(SEND_BYTES);
        await loss.stop();
        expect((await link.stats()).droppedPackets).toBeGreaterThan(before.droppedPackets);
      } finally {
        await gateway.close();
        sender.close();
      }
    });

    it('removes leftovers of a crashed run (a namespace whose creator pid is gone)', async () => {
      // pid 2^22+1 exceeds the kernel's pid_max: it cannot be alive.
      const name = `${NETNS_PREFIX}4194305-abcdef`;
      await run(['ip', 'netns', 'add', name]);
      const removed = await cleanupStaleLinks();
      expect(removed).toContain(name);
      expect(removed).not.toContain(link.name);
      expect(await run(['ip', 'netns', 'list'])).not.toContain(name);
    });
  },
);

describe('network-namespace link teardown', () => {
  it.skipIf(!support.ok)('destroy removes the namespace and the veth pair, even with faults on', async () => {
    const link = await createNetLink();
    await link.down(60_000);
    await link.destroy();
    expect(await run(['ip', 'netns', 'list'])).not.toContain(link.name);
    expect(await run(['ip', '-o', 'link', 'show'])).not.toContain(link.name.slice(-6));
  });
});
