import { connect, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { MllpFramer, frameMllp, parseHl7 } from '@ehrflow/hl7';

/** An acknowledgment as the sender saw it. */
export interface SeenAck {
  /** MSA-1 (AA, AE, AR, CA, CE, CR). */
  readonly code: string;
  /** MSA-2: the control id it acknowledges. */
  readonly controlId: string;
  /** ERR-2 positions and ERR-3 codes, as `PID^1^7` and `101`. */
  readonly errors: readonly { readonly position: string; readonly code: string }[];
  readonly text: string;
}

/** Reads MSA and ERR out of an ACK. */
export function readAck(text: string): SeenAck {
  const view = parseHl7(text);
  const errors: { position: string; code: string }[] = [];
  for (let i = 1; i <= view.count('ERR'); i += 1) {
    const segment = view.text.split('\r').filter((s) => s.startsWith('ERR'))[i - 1] ?? '';
    const parts = segment.split('|');
    errors.push({ position: parts[2] ?? '', code: (parts[3] ?? '').split('^')[0] ?? '' });
  }
  return { code: view.value('MSA', 1), controlId: view.value('MSA', 2), errors, text: view.text };
}

/**
 * An MLLP sender that behaves like interface engines do, and like the broken ones: it waits for
 * each ACK (or not), trickles bytes, drops the connection mid-block, sends noise.
 */
export class MllpSender {
  private socket: Socket | undefined;
  private readonly framer = new MllpFramer(16 * 1024 * 1024);
  private acks: SeenAck[] = [];
  private waiters: ((ack: SeenAck | undefined) => void)[] = [];
  private closed = false;
  readonly host: string;
  readonly port: number;
  /** PEM of the CA that signed the receiver's certificate: connect with TLS, verifying it. */
  readonly tlsCa: string | undefined;
  /** PEM certificate and key this sender presents (mutual TLS). */
  readonly clientCert: { readonly cert: string; readonly key: string } | undefined;

  constructor(
    port: number,
    host = '127.0.0.1',
    options: {
      readonly tlsCa?: string;
      readonly clientCert?: { readonly cert: string; readonly key: string };
    } = {},
  ) {
    this.port = port;
    this.host = host;
    this.tlsCa = options.tlsCa;
    this.clientCert = options.clientCert;
  }

  async connect(): Promise<void> {
    this.closed = false;
    this.acks = [];
    await new Promise<void>((resolve, reject) => {
      const socket =
        this.tlsCa === undefined
          ? connect({ port: this.port, host: this.host }, () => resolve())
          : connectTls(
              {
                port: this.port,
                host: this.host,
                ca: this.tlsCa,
                servername: 'localhost',
                ...this.clientCert,
              },
              () => resolve(),
            );
      socket.setNoDelay(true);
      socket.once('error', reject);
      socket.on('data', (chunk: Buffer) => {
        for (const frame of this.framer.push(chunk).frames) this.deliver(readAck(frame.toString('utf8')));
      });
      socket.on('close', () => {
        this.closed = true;
        for (const w of this.waiters.splice(0)) w(undefined);
      });
      socket.on('error', () => undefined);
      this.socket = socket;
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private deliver(ack: SeenAck): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(ack);
    else this.acks.push(ack);
  }

  /** The next ACK, or undefined when the connection closes or `timeoutMs` passes first. */
  nextAck(timeoutMs = 10_000): Promise<SeenAck | undefined> {
    const ready = this.acks.shift();
    if (ready) return Promise.resolve(ready);
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve(undefined);
      }, timeoutMs);
      const done = (ack: SeenAck | undefined) => {
        clearTimeout(timer);
        resolve(ack);
      };
      this.waiters.push(done);
    });
  }

  /** Sends one block and waits for its ACK. */
  async send(message: string, timeoutMs?: number): Promise<SeenAck | undefined> {
    this.write(frameMllp(message));
    return this.nextAck(timeoutMs);
  }

  /** Sends a block without waiting (pipelining, or a resend before the ACK came). */
  sendNoWait(message: string): void {
    this.write(frameMllp(message));
  }

  /** Raw bytes (malformed frames, noise). */
  write(bytes: Buffer): void {
    this.socket?.write(bytes);
  }

  /** Sends the first `fraction` of a framed block, then drops the connection (a VPN link failing). */
  async disconnectMidBlock(message: string, fraction = 0.5): Promise<void> {
    const frame = frameMllp(message);
    const cut = Math.max(2, Math.floor(frame.length * fraction));
    await new Promise<void>((resolve) => this.socket?.write(frame.subarray(0, cut), () => resolve()));
    await this.destroy();
  }

  /** Sends a block in `chunks` pieces `gapMs` apart (a slow link), then waits for the ACK. */
  async sendSlowly(
    message: string,
    chunks: number,
    gapMs: number,
    timeoutMs?: number,
  ): Promise<SeenAck | undefined> {
    const frame = frameMllp(message);
    const size = Math.ceil(frame.length / chunks);
    for (let i = 0; i < frame.length; i += size) {
      if (this.closed) return undefined;
      this.write(frame.subarray(i, i + size));
      await new Promise((r) => setTimeout(r, gapMs));
    }
    return this.nextAck(timeoutMs);
  }

  async destroy(): Promise<void> {
    const socket = this.socket;
    if (!socket || socket.destroyed) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.destroy();
    });
  }

  async end(): Promise<void> {
    const socket = this.socket;
    if (!socket || socket.destroyed) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.end();
    });
  }
}
