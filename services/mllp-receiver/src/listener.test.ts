import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { frameMllp } from '@ehrflow/hl7';
import { MllpSender, seededRandom, syntheticBatch, syntheticMessage } from '@ehrflow/hl7-sim';
import { createMetrics } from '@ehrflow/service';
import { createMllpListener, type ListenerOptions, type MllpListener } from './listener.ts';
import { createReceiverMetrics } from './metrics.ts';
import { testIngest, waitFor, type TestIngest } from './testing.ts';

const msg = (controlId: string) => syntheticMessage(seededRandom(3), { controlId });
let listener: MllpListener | undefined;
const senders: MllpSender[] = [];

async function start(t: TestIngest, overrides: Partial<ListenerOptions> = {}): Promise<number> {
  listener = createMllpListener({
    ingest: t.ingest,
    writer: t.writer,
    logger: t.logger,
    maxMessageBytes: 64 * 1024,
    idleTimeoutMs: 10_000,
    readTimeoutMs: 5_000,
    maxConnectionsPerSender: 4,
    maxConnections: 16,
    maxQueuedPerConnection: 4,
    ackApplication: 'EHRFLOW',
    ackFacility: 'HUB',
    ...overrides,
  });
  return (await listener.listen(0, '127.0.0.1')).port;
}

async function sender(port: number): Promise<MllpSender> {
  const s = new MllpSender(port);
  await s.connect();
  senders.push(s);
  return s;
}

afterEach(async () => {
  for (const s of senders.splice(0)) await s.destroy();
  await listener?.close();
  listener = undefined;
});

describe('MLLP listener', () => {
  it('answers pipelined blocks in sending order, resends included, and skips noise between frames', async () => {
    const t = testIngest();
    const s = await sender(await start(t));
    s.write(Buffer.from('garbage\r\n'));
    for (const id of ['P-1', 'P-2', 'P-1', 'P-3']) s.sendNoWait(msg(id));
    const acks = [await s.nextAck(), await s.nextAck(), await s.nextAck(), await s.nextAck()];
    expect(acks.map((a) => `${a?.code}:${a?.controlId}`)).toEqual(['AA:P-1', 'AA:P-2', 'AA:P-1', 'AA:P-3']);
    expect(t.writer.written).toHaveLength(3);
  });

  it('sends no ACK while the write is not durable, and stops reading once its queue is full', async () => {
    const t = testIngest();
    t.writer.hold = true;
    const service = createMetrics('mllp-receiver-test');
    const s = await sender(
      await start(t, { maxQueuedPerConnection: 2, metrics: createReceiverMetrics(service) }),
    );
    for (let i = 0; i < 20; i += 1) s.sendNoWait(msg(`Q-${i}`));
    await waitFor(() => t.writer.waiting() === 1);
    expect(await s.nextAck(300)).toBeUndefined();
    const pauses =
      (await service.registry.getSingleMetric('ehrflow_mllp_read_pauses_total')?.get())?.values[0]?.value ??
      0;
    expect(pauses).toBeGreaterThan(0);
    t.writer.hold = false;
    t.writer.release();
    for (let i = 0; i < 20; i += 1) expect((await s.nextAck())?.controlId).toBe(`Q-${i}`);
  });

  it('refuses connections past the per-sender limit', async () => {
    const t = testIngest();
    const port = await start(t, { maxConnectionsPerSender: 1 });
    const first = await sender(port);
    const second = await sender(port);
    await waitFor(() => second.isClosed);
    expect((await first.send(msg('L-1')))?.code).toBe('AA');
  });

  it('cuts off a sender whose block does not end within the read timeout, however slowly bytes trickle', async () => {
    const t = testIngest();
    const s = await sender(await start(t, { readTimeoutMs: 200 }));
    const ack = await s.sendSlowly(msg('S-1'), 40, 20, 2_000);
    expect(ack).toBeUndefined();
    expect(s.isClosed).toBe(true);
    expect(t.writer.written).toHaveLength(0);
  });

  it('answers AR to a block past the size limit and closes', async () => {
    const t = testIngest();
    const s = await sender(await start(t, { maxMessageBytes: 2048 }));
    const ack = await s.send(syntheticMessage(seededRandom(1), { controlId: 'BIG', targetBytes: 4096 }));
    expect(ack?.code).toBe('AR');
    await waitFor(() => s.isClosed);
  });

  it('a message cut off by a disconnect is neither written nor ACKed; a cut-off batch is quarantined whole', async () => {
    const t = testIngest();
    const port = await start(t);
    const one = await sender(port);
    await one.disconnectMidBlock(msg('D-1'));
    const two = await sender(port);
    await two.disconnectMidBlock(syntheticBatch([msg('D-2'), msg('D-3')], { batchId: 'CUTB' }), 0.6);
    await waitFor(() => t.quarantined.length === 1);
    expect(t.writer.written).toHaveLength(0);
    expect(t.alerts[0]).toMatchObject({ batchId: 'CUTB', reason: 'batch_incomplete' });
  });

  it('drains on close: the block in hand is answered before the connection ends', async () => {
    const t = testIngest();
    t.writer.hold = true;
    const s = await sender(await start(t));
    s.sendNoWait(msg('Z-1'));
    await waitFor(() => t.writer.waiting() === 1);
    const closing = listener?.close();
    t.writer.release();
    await closing;
    listener = undefined;
    expect((await s.nextAck(1_000))?.code).toBe('AA');
    s.write(frameMllp(msg('Z-2')));
    await waitFor(() => s.isClosed);
  });

  it('serves MLLP over TLS with the configured certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mllp-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    const t = testIngest();
    const port = await start(t, { tls: { cert, key: readFileSync(join(dir, 'key.pem'), 'utf8') } });
    const s = new MllpSender(port, '127.0.0.1', { tlsCa: cert });
    await s.connect();
    senders.push(s);
    expect((await s.send(msg('TLS-1')))?.code).toBe('AA');
    expect(t.writer.written).toHaveLength(1);
  });

  it('mutual TLS: a sender without a client certificate is refused at the handshake; one with a certificate of the configured CA is served', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mllp-mtls-'));
    const selfSigned = (name: string, cn: string) =>
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-days',
          '1',
          '-subj',
          `/CN=${cn}`,
          '-addext',
          `subjectAltName=DNS:${cn}`,
          '-keyout',
          join(dir, `${name}-key.pem`),
          '-out',
          join(dir, `${name}.pem`),
        ],
        { stdio: 'ignore' },
      );
    selfSigned('server', 'localhost');
    // A self-signed client certificate is its own CA: the listener trusts exactly it.
    selfSigned('client', 'north-engine');
    selfSigned('stranger', 'other-engine');
    const read = (name: string) => readFileSync(join(dir, name), 'utf8');
    const server = read('server.pem');
    const client = { cert: read('client.pem'), key: read('client-key.pem') };
    const t = testIngest();
    const port = await start(t, {
      tls: { cert: server, key: read('server-key.pem'), clientCa: client.cert },
    });

    // No certificate, and a certificate the listener does not trust: no ACK, nothing written.
    for (const clientCert of [undefined, { cert: read('stranger.pem'), key: read('stranger-key.pem') }]) {
      const s = new MllpSender(port, '127.0.0.1', { tlsCa: server, ...(clientCert ? { clientCert } : {}) });
      senders.push(s);
      const refused = await s.connect().then(
        async () => (await s.send(msg('MTLS-0'), 2_000)) === undefined,
        () => true,
      );
      expect(refused).toBe(true);
    }
    expect(t.writer.written).toHaveLength(0);

    const s = new MllpSender(port, '127.0.0.1', { tlsCa: server, clientCert: client });
    await s.connect();
    senders.push(s);
    expect((await s.send(msg('MTLS-1')))?.code).toBe('AA');
    expect(t.writer.written).toHaveLength(1);
  });

  it('closes within the grace when a sender never closes its side', async () => {
    const t = testIngest();
    const port = await start(t);
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    await new Promise<void>((r) => socket.once('connect', () => r()));
    await waitFor(() => listener?.connections() === 1);
    const started = Date.now();
    await listener?.close();
    listener = undefined;
    expect(Date.now() - started).toBeLessThan(3_000);
    socket.destroy();
  });
});
