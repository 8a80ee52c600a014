import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { PipelineError } from '@ehrflow/errors';
import { MllpFramer, buildAck, frameMllp, looksLikeBatch } from '@ehrflow/hl7';
import type { Logger } from '@ehrflow/logging';
import type { Ingest } from './ingest.ts';
import type { ReceiverMetrics } from './metrics.ts';
import type { GroupWriter } from './writer.ts';

export interface ListenerOptions {
  readonly ingest: Ingest;
  readonly writer: Pick<GroupWriter, 'overloaded' | 'whenRoom'>;
  readonly logger: Logger;
  readonly metrics?: ReceiverMetrics;
  readonly maxMessageBytes: number;
  readonly idleTimeoutMs: number;
  readonly readTimeoutMs: number;
  readonly maxConnectionsPerSender: number;
  readonly maxConnections: number;
  readonly maxQueuedPerConnection: number;
  readonly ackApplication: string;
  readonly ackFacility: string;
  /**
   * PEM certificate and key: MLLP over TLS. With `clientCa`, mutual TLS: a sender must present a
   * certificate signed by one of these CAs, or the handshake fails and nothing is read.
   */
  readonly tls?: { readonly cert: string; readonly key: string; readonly clientCa?: string };
}

/** How long a drained connection waits for the sender to close its side. */
const DRAIN_GRACE_MS = 1_000;

/** The MLLP listener. */
export interface MllpListener {
  listen(port: number, host: string): Promise<{ port: number }>;
  /** Stops accepting, lets every connection finish the block in hand, then closes them. */
  close(): Promise<void>;
  connections(): number;
}

/**
 * One listener, one loop per connection: blocks are taken in one at a time and answered in order
 * (MLLP is request/response; a sender that pipelines gets its ACKs in sending order). Reading
 * stops while a connection has `maxQueuedPerConnection` blocks waiting or the writer is
 * overloaded, so a slow Kafka slows the senders through TCP instead of filling memory.
 */
export function createMllpListener(options: ListenerOptions): MllpListener {
  const { logger, metrics } = options;
  const perSender = new Map<string, number>();
  const open = new Set<Connection>();
  let closing = false;

  const onSocket = (socket: Socket): void => {
    const sender = socket.remoteAddress ?? 'unknown';
    const count = perSender.get(sender) ?? 0;
    if (closing || count >= options.maxConnectionsPerSender || open.size >= options.maxConnections) {
      const reason = closing
        ? 'draining'
        : count >= options.maxConnectionsPerSender
          ? 'per_sender_limit'
          : 'connection_limit';
      metrics?.refused.inc({ reason });
      logger.warn({ sender, reason }, 'MLLP connection refused');
      socket.destroy();
      return;
    }
    perSender.set(sender, count + 1);
    const connection = new Connection(socket, sender, options);
    open.add(connection);
    metrics?.connections.inc();
    socket.once('close', () => {
      open.delete(connection);
      metrics?.connections.dec();
      const left = (perSender.get(sender) ?? 1) - 1;
      if (left <= 0) perSender.delete(sender);
      else perSender.set(sender, left);
    });
  };

  const server: Server = options.tls
    ? createTlsServer(
        {
          cert: options.tls.cert,
          key: options.tls.key,
          minVersion: 'TLSv1.2',
          ...(options.tls.clientCa === undefined
            ? {}
            : { ca: options.tls.clientCa, requestCert: true, rejectUnauthorized: true }),
        },
        onSocket,
      )
    : createTcpServer(onSocket);
  server.on('error', (err) => logger.error({ err }, 'MLLP listener error'));
  // A failed handshake (no client certificate, an unknown CA): counted and logged by address only.
  server.on('tlsClientError', (err: Error & { code?: string }, socket: { remoteAddress?: string }) => {
    metrics?.refused.inc({ reason: 'tls_handshake' });
    logger.warn(
      { sender: socket.remoteAddress ?? 'unknown', reason: 'tls_handshake', code: err.code ?? 'unknown' },
      'MLLP connection refused',
    );
  });

  return {
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address();
          resolve({ port: typeof address === 'object' && address !== null ? address.port : port });
        });
      });
    },
    async close() {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...open].map((c) => c.drain()));
      await closed;
    },
    connections: () => open.size,
  };
}

/** One sender connection: framing, the in-order processing loop, timeouts and backpressure. */
class Connection {
  private readonly framer: MllpFramer;
  private readonly queue: { block: Buffer; at: number }[] = [];
  private running = false;
  private paused = false;
  private ended = false;
  private draining = false;
  private readTimer: NodeJS.Timeout | undefined;
  private idleDone: (() => void) | undefined;
  private readonly socket: Socket;
  private readonly sender: string;
  private readonly options: ListenerOptions;

  constructor(socket: Socket, sender: string, options: ListenerOptions) {
    this.socket = socket;
    this.sender = sender;
    this.options = options;
    this.framer = new MllpFramer(options.maxMessageBytes);
    socket.setNoDelay(true);
    socket.setTimeout(options.idleTimeoutMs, () => this.close('idle_timeout'));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) =>
      options.logger.debug({ err: { name: err.name }, sender }, 'MLLP socket error'),
    );
    socket.on('close', () => this.onClose());
  }

  /** Finishes the blocks already read, then closes (SIGTERM): no ACK is lost, nothing new is read. */
  drain(): Promise<void> {
    this.draining = true;
    this.socket.pause();
    if (!this.running && this.queue.length === 0) {
      this.finish();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.idleDone = () => {
        this.finish();
        resolve();
      };
    });
  }

  /** Ends the connection; a sender that never closes its side is cut after a short grace. */
  private finish(): void {
    this.socket.end();
    setTimeout(() => this.socket.destroy(), DRAIN_GRACE_MS).unref();
  }

  private onData(chunk: Buffer): void {
    if (this.ended) return;
    let frames: Buffer[];
    try {
      ({ frames } = this.framer.push(chunk));
    } catch (err) {
      if (err instanceof PipelineError && err.code === 'TOO_LARGE') {
        this.options.metrics?.nacks.inc({ reason: 'too_large' });
        this.options.logger.warn(
          { sender: this.sender, limit: this.options.maxMessageBytes },
          'MLLP block too large; closing',
        );
        const nak = buildAck({
          header: undefined,
          code: 'AR',
          errors: [{ code: 207 }],
          application: this.options.ackApplication,
          facility: this.options.ackFacility,
          ackControlId: 'TOOLARGE',
        });
        this.socket.end(frameMllp(nak));
        this.ended = true;
        return;
      }
      throw err;
    }
    const now = performance.now();
    for (const block of frames) this.queue.push({ block, at: now });
    this.armReadTimer(frames.length > 0);
    if (this.queue.length >= this.options.maxQueuedPerConnection || this.options.writer.overloaded())
      this.pause();
    void this.run();
  }

  /**
   * A block must end within the read timeout of its start, however slowly its bytes trickle in:
   * a stalled or dribbling sender is cut off instead of holding a connection slot.
   */
  private armReadTimer(blockEnded: boolean): void {
    if (blockEnded || !this.framer.inFrame) {
      clearTimeout(this.readTimer);
      this.readTimer = undefined;
    }
    if (this.framer.inFrame && this.readTimer === undefined) {
      this.readTimer = setTimeout(() => this.close('read_timeout'), this.options.readTimeoutMs);
    }
  }

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
    this.options.metrics?.paused.inc();
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const next = this.queue.shift() as { block: Buffer; at: number };
        if (this.options.writer.overloaded()) {
          this.pause();
          await this.options.writer.whenRoom();
        }
        const locator = `mllp ${this.sender}`;
        const result = await this.options.ingest.take(next.block, locator);
        if (this.socket.destroyed) break;
        for (const reply of result.replies) this.socket.write(frameMllp(reply));
        this.options.metrics?.ackLatency.observe({}, (performance.now() - next.at) / 1000);
      }
    } catch (err) {
      this.options.logger.error(
        { err, sender: this.sender },
        'MLLP block processing failed; closing the connection',
      );
      this.socket.destroy();
    } finally {
      this.running = false;
    }
    if (this.draining) {
      this.idleDone?.();
      return;
    }
    if (this.paused && !this.ended && !this.socket.destroyed) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private close(reason: 'idle_timeout' | 'read_timeout'): void {
    this.options.metrics?.refused.inc({ reason });
    this.options.logger.info(
      { sender: this.sender, reason, partialBytes: this.framer.pendingBytes },
      'MLLP connection closed',
    );
    this.socket.destroy();
  }

  private onClose(): void {
    clearTimeout(this.readTimer);
    if (!this.framer.inFrame) return;
    // A block cut off: a single message is simply not ACKed (the sender resends); a batch is kept
    // in quarantine whole, so the operator sees what was lost.
    const partial = this.framer.takePartial();
    if (!looksLikeBatch(partial.subarray(0, 16).toString('latin1'))) return;
    this.options.ingest
      .cutOff(partial)
      .catch((err: unknown) =>
        this.options.logger.error({ err, sender: this.sender }, 'cut-off batch not quarantined'),
      );
  }
}
