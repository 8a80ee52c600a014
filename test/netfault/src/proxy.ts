import { EventEmitter, once } from 'node:events';
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { seededRandom, type Random } from './prng.ts';

/**
 * One fault of the proxy. Each is applied for a duration and ends by itself; several may act
 * at once (latencies add up, the lowest bandwidth wins).
 */
export type ProxyFault =
  /** Every chunk is forwarded `ms` (+ seeded uniform [0, `jitterMs`)) after it arrived; `connectMs` delays the upstream connect. */
  | { readonly kind: 'latency'; readonly ms: number; readonly jitterMs?: number; readonly connectMs?: number }
  /** The link carries at most this many bytes per second in each direction, shared by all connections. */
  | { readonly kind: 'bandwidth'; readonly bytesPerSecond: number }
  /**
   * Connections open during the fault are reset (RST) with `probability` (default 1) after
   * `afterBytes` (+ seeded uniform [0, `afterBytesJitter`)) more bytes from the server.
   */
  | {
      readonly kind: 'reset';
      readonly probability?: number;
      readonly afterBytes?: number;
      readonly afterBytesJitter?: number;
    }
  /**
   * New connections are accepted and never answered (nothing reaches the server); with
   * `existing`, open connections also stop forwarding mid-stream. Held connections are
   * destroyed when the fault ends; stalled ones carry on.
   */
  | { readonly kind: 'blackhole'; readonly existing?: boolean }
  /** The link is down: new connections are refused (the listener is closed), open ones reset. */
  | { readonly kind: 'down' }
  /** Down for `downMs`, up for `upMs`, again and again (starting down) while the fault lasts. */
  | { readonly kind: 'flap'; readonly downMs: number; readonly upMs: number };

/** A fault that is acting; `ended` resolves when it stopped (its duration passed, `stop()` or `close()`). */
export interface ActiveFault {
  readonly fault: ProxyFault;
  readonly ended: Promise<void>;
  stop(): void;
}

export interface FaultProxyCounters {
  /** Connections accepted (held ones included). */
  readonly accepted: number;
  readonly active: number;
  /** Most connections open at once: how full the client's pool got. */
  readonly peakActive: number;
  /** Bytes forwarded client → server and server → client. */
  readonly bytesUp: number;
  readonly bytesDown: number;
  /** Connections reset by a `reset`, `down` or `flap` fault. */
  readonly resets: number;
  /** Connections accepted into a black hole. */
  readonly held: number;
  /** Times the link went down (a `down` fault, each down phase of a `flap`). */
  readonly downs: number;
}

export interface FaultProxyOptions {
  /** Where connections are forwarded. */
  readonly target: { readonly host: string; readonly port: number };
  /** Listen address; default 127.0.0.1. */
  readonly host?: string;
  /** Listen port; default 0 (any free port). */
  readonly port?: number;
  /** Seed of every random decision (jitter, which connection is reset); default 'netfault'. */
  readonly seed?: string;
}

export interface FaultProxy {
  readonly host: string;
  /** The listening port (fixed for the proxy's lifetime, also across down periods). */
  readonly port: number;
  /** Starts a fault for `durationMs` (at most 10 minutes). */
  apply(fault: ProxyFault, durationMs: number): ActiveFault;
  /** Stops every fault now (connections held by a black hole are destroyed). */
  clear(): void;
  counters(): FaultProxyCounters;
  /** Stops every fault, the listener and every connection. */
  close(): Promise<void>;
}

/** A fault may last at most this long: a forgotten fault must not outlive a test run. */
export const MAX_FAULT_MS = 600_000;
const HIGH_WATER = 256 * 1024;
const SLICE = 16 * 1024;

type Direction = 'up' | 'down';

interface Conn {
  readonly client: net.Socket;
  upstream: net.Socket | undefined;
  readonly abort: AbortController;
  bytesDown: number;
  /** Server → client byte count at which this connection is reset. */
  resetAt: number | undefined;
  /** Set while a black hole holds it; destroyed when that fault ends. */
  heldBy: Entry | undefined;
}

interface Entry {
  readonly fault: ProxyFault;
  readonly end: () => void;
  /** A flap's current phase. */
  flapDown: boolean;
}

/** Starts a TCP fault proxy in front of `target`; see `ProxyFault` for what it can do. */
export async function createFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const host = options.host ?? '127.0.0.1';
  const random: Random = seededRandom(options.seed ?? 'netfault');
  const active = new Set<Entry>();
  const conns = new Set<Conn>();
  const changes = new EventEmitter();
  changes.setMaxListeners(0);
  const buckets: Record<Direction, TokenBucket> = { up: new TokenBucket(), down: new TokenBucket() };
  const counts = { accepted: 0, peakActive: 0, bytesUp: 0, bytesDown: 0, resets: 0, held: 0, downs: 0 };
  let server: net.Server | undefined;
  let closed = false;
  let linkDown = false;

  const faults = <K extends ProxyFault['kind']>(kind: K): Extract<ProxyFault, { kind: K }>[] =>
    [...active].map((e) => e.fault).filter((f): f is Extract<ProxyFault, { kind: K }> => f.kind === kind);
  const isDown = (): boolean =>
    [...active].some((e) => e.fault.kind === 'down' || (e.fault.kind === 'flap' && e.flapDown));
  const stalled = (): boolean => faults('blackhole').some((f) => f.existing === true);
  const latencyMs = (): number =>
    faults('latency').reduce((sum, f) => sum + f.ms + (f.jitterMs ?? 0) * random(), 0);
  const connectDelayMs = (): number => faults('latency').reduce((sum, f) => sum + (f.connectMs ?? 0), 0);
  const bandwidth = (): number | undefined => {
    const caps = faults('bandwidth').map((f) => f.bytesPerSecond);
    return caps.length === 0 ? undefined : Math.min(...caps);
  };

  const reset = (conn: Conn): void => {
    counts.resets++;
    conn.abort.abort();
    if (!conn.client.destroyed) conn.client.resetAndDestroy();
    if (conn.upstream !== undefined && !conn.upstream.destroyed) conn.upstream.resetAndDestroy();
  };

  const decideReset = (conn: Conn): void => {
    for (const f of faults('reset')) {
      if (random() >= (f.probability ?? 1)) continue;
      const at = conn.bytesDown + (f.afterBytes ?? 0) + Math.floor((f.afterBytesJitter ?? 0) * random());
      conn.resetAt = Math.min(conn.resetAt ?? Number.POSITIVE_INFINITY, at);
    }
  };

  const startListening = async (port: number): Promise<number> => {
    const next = net.createServer({ allowHalfOpen: true }, onConnection);
    // The port is ours between down periods; another process taking it meanwhile is retried, bounded.
    for (let attempt = 0; ; attempt++) {
      try {
        next.listen(port, host);
        await once(next, 'listening');
        server = next;
        return (next.address() as net.AddressInfo).port;
      } catch (err) {
        if (attempt >= 50 || closed) throw err;
        await delay(100);
      }
    }
  };

  // Link state follows the active faults: closing the listener is what makes a connect refused.
  const onChange = (): void => {
    const down = isDown();
    if (down && !linkDown) {
      linkDown = true;
      counts.downs++;
      server?.close();
      server = undefined;
      for (const conn of conns) reset(conn);
    } else if (!down && linkDown && !closed) {
      linkDown = false;
      void startListening(port).catch(() => undefined);
    }
    changes.emit('change');
  };

  function onConnection(client: net.Socket): void {
    const conn: Conn = {
      client,
      upstream: undefined,
      abort: new AbortController(),
      bytesDown: 0,
      resetAt: undefined,
      heldBy: undefined,
    };
    counts.accepted++;
    conns.add(conn);
    counts.peakActive = Math.max(counts.peakActive, conns.size);
    client.on('error', () => undefined);
    client.once('close', () => {
      conns.delete(conn);
      conn.abort.abort();
      conn.upstream?.destroy();
    });
    if (linkDown) {
      reset(conn);
      return;
    }
    const hole = [...active].find((e) => e.fault.kind === 'blackhole');
    if (hole !== undefined) {
      // Accepted, read and never answered: only the client's own timeout ends it.
      counts.held++;
      conn.heldBy = hole;
      client.resume();
      return;
    }
    decideReset(conn);
    void connectUpstream(conn);
  }

  const connectUpstream = async (conn: Conn): Promise<void> => {
    conn.client.pause();
    try {
      const wait = connectDelayMs();
      if (wait > 0) await delay(wait, undefined, { signal: conn.abort.signal });
    } catch {
      return;
    }
    const upstream = net.connect({
      host: options.target.host,
      port: options.target.port,
      allowHalfOpen: true,
    });
    conn.upstream = upstream;
    upstream.on('error', () => {
      if (!conn.client.destroyed) conn.client.resetAndDestroy();
    });
    upstream.once('connect', () => {
      pump(conn, conn.client, upstream, 'up');
      pump(conn, upstream, conn.client, 'down');
      conn.client.resume();
    });
  };

  /** Forwards `src` → `dst` chunk by chunk, in order, applying the faults acting at each moment. */
  const pump = (conn: Conn, src: net.Socket, dst: net.Socket, dir: Direction): void => {
    const queue: { chunk: Buffer; at: number }[] = [];
    let queued = 0;
    let ended = false;
    let running = false;
    const signal = conn.abort.signal;

    const run = async (): Promise<void> => {
      running = true;
      try {
        while (queue.length > 0) {
          const item = queue[0] as { chunk: Buffer; at: number };
          if (stalled()) await until(() => !stalled(), signal);
          const wait = item.at + latencyMs() - Date.now();
          if (wait > 0) await delay(wait, undefined, { signal });
          for (let offset = 0; offset < item.chunk.length;) {
            const rate = bandwidth();
            const size = Math.min(SLICE, item.chunk.length - offset, rate === undefined ? SLICE : rate);
            if (rate !== undefined) await buckets[dir].take(size, rate, signal);
            let slice = item.chunk.subarray(offset, offset + size);
            if (
              dir === 'down' &&
              conn.resetAt !== undefined &&
              conn.bytesDown + slice.length >= conn.resetAt
            ) {
              slice = slice.subarray(0, Math.max(0, conn.resetAt - conn.bytesDown));
              if (slice.length > 0) dst.write(slice);
              counts.bytesDown += slice.length;
              reset(conn);
              return;
            }
            offset += slice.length;
            if (dir === 'down') {
              conn.bytesDown += slice.length;
              counts.bytesDown += slice.length;
            } else counts.bytesUp += slice.length;
            if (!dst.write(slice)) await once(dst, 'drain', { signal });
          }
          queue.shift();
          queued -= item.chunk.length;
          if (queued < HIGH_WATER / 2 && src.isPaused()) src.resume();
        }
        if (ended && !dst.destroyed) dst.end();
      } catch {
        // Aborted: the connection closed or was reset.
      } finally {
        running = false;
      }
    };

    src.on('data', (chunk: Buffer) => {
      queue.push({ chunk, at: Date.now() });
      queued += chunk.length;
      if (queued > HIGH_WATER) src.pause();
      if (!running) void run();
    });
    src.once('end', () => {
      ended = true;
      if (!running) void run();
    });
  };

  const until = (done: () => boolean, signal: AbortSignal): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (!done()) return;
        changes.off('change', check);
        signal.removeEventListener('abort', abort);
        resolve();
      };
      const abort = (): void => {
        changes.off('change', check);
        reject(signal.reason as Error);
      };
      changes.on('change', check);
      signal.addEventListener('abort', abort, { once: true });
      check();
    });

  const port = await startListening(options.port ?? 0);

  const proxy: FaultProxy = {
    host,
    port,
    apply(fault, durationMs) {
      if (closed) throw new Error('the fault proxy is closed');
      checkFault(fault, durationMs);
      let resolveEnded: () => void = () => undefined;
      const ended = new Promise<void>((r) => (resolveEnded = r));
      const timers: NodeJS.Timeout[] = [];
      const entry: Entry = {
        fault,
        flapDown: fault.kind === 'flap',
        end: () => {
          if (!active.delete(entry)) return;
          for (const t of timers) clearTimeout(t);
          for (const conn of conns) if (conn.heldBy === entry) conn.client.destroy();
          onChange();
          resolveEnded();
        },
      };
      active.add(entry);
      timers.push(setTimeout(entry.end, durationMs));
      if (fault.kind === 'flap') {
        const toggle = (): void => {
          entry.flapDown = !entry.flapDown;
          onChange();
          timers.push(setTimeout(toggle, entry.flapDown ? fault.downMs : fault.upMs));
        };
        timers.push(setTimeout(toggle, fault.downMs));
      }
      // Connections already open take their reset decision now.
      if (fault.kind === 'reset') for (const conn of conns) if (conn.heldBy === undefined) decideReset(conn);
      onChange();
      return { fault, ended, stop: entry.end };
    },
    clear() {
      for (const entry of [...active]) entry.end();
    },
    counters: () => ({ ...counts, active: conns.size }),
    async close() {
      closed = true;
      proxy.clear();
      for (const conn of conns) {
        conn.abort.abort();
        conn.client.destroy();
        conn.upstream?.destroy();
      }
      const last = server;
      server = undefined;
      if (last !== undefined) await new Promise<void>((r) => last.close(() => r()));
    },
  };
  return proxy;
}

function checkFault(fault: ProxyFault, durationMs: number): void {
  if (!(durationMs > 0 && durationMs <= MAX_FAULT_MS))
    throw new RangeError(`a fault lasts between 1 ms and ${MAX_FAULT_MS} ms`);
  const bad = (what: string): never => {
    throw new RangeError(`${fault.kind}: ${what}`);
  };
  switch (fault.kind) {
    case 'latency':
      if (fault.ms < 0 || (fault.jitterMs ?? 0) < 0 || (fault.connectMs ?? 0) < 0) bad('negative delay');
      return;
    case 'bandwidth':
      if (!(fault.bytesPerSecond >= 1)) bad('bytesPerSecond must be at least 1');
      return;
    case 'reset': {
      const p = fault.probability ?? 1;
      if (!(p >= 0 && p <= 1)) bad('probability must be within [0, 1]');
      if ((fault.afterBytes ?? 0) < 0 || (fault.afterBytesJitter ?? 0) < 0) bad('negative byte count');
      return;
    }
    case 'flap':
      if (!(fault.downMs > 0 && fault.upMs > 0)) bad('downMs and upMs must be positive');
      return;
    case 'blackhole':
    case 'down':
      return;
  }
}

/** A token bucket in bytes; its rate may change from one call to the next. */
class TokenBucket {
  private tokens = 0;
  private last = Date.now();

  async take(bytes: number, ratePerSecond: number, signal: AbortSignal): Promise<void> {
    // One tenth of a second of burst: enough for a slice, small enough to hold the rate.
    const burst = Math.max(bytes, ratePerSecond / 10);
    for (;;) {
      const now = Date.now();
      this.tokens = Math.min(burst, this.tokens + ((now - this.last) * ratePerSecond) / 1000);
      this.last = now;
      if (this.tokens >= bytes) {
        this.tokens -= bytes;
        return;
      }
      await delay(Math.ceil(((bytes - this.tokens) * 1000) / ratePerSecond), undefined, { signal });
    }
  }
}
