import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { CommandError, findBinary, run } from './commands.ts';
import {
  bandwidthOff,
  bandwidthOn,
  downOff,
  downOn,
  effectiveLoss,
  inNs,
  IPTABLES_COUNTERS,
  lossOff,
  lossOn,
  parseDropped,
  parseIptablesDropped,
  parseRetransmits,
  qdiscTree,
  type Argv,
  type LossMethod,
} from './link-commands.ts';
import { MAX_FAULT_MS } from './proxy.ts';

/**
 * Every namespace this module creates is named `ehrnf-<creator pid>-<random>` (its router
 * `…-r`); a namespace whose
 * creator is gone is a leftover of a crashed run and `cleanupStaleLinks` removes it.
 */
export const NETNS_PREFIX = 'ehrnf-';
/** veth names: `nf<random>h` on the host, `a`/`b` in the router, `n` in the server's namespace. */
const VETH_PREFIX = 'nf';

export type NetnsSupport =
  { readonly ok: true; readonly loss: LossMethod } | { readonly ok: false; readonly reason: string };

let support: Promise<NetnsSupport> | undefined;

/**
 * Whether this machine can run namespace links: Linux, root, `ip` and `tc` installed, and a probe
 * namespace with a veth pair and the qdisc tree can be made. Loss uses iptables when it is
 * installed, else tc u32. Nothing is installed: a missing piece is a skip reason.
 */
export function netnsSupport(): Promise<NetnsSupport> {
  support ??= probe();
  return support;
}

async function probe(): Promise<NetnsSupport> {
  if (process.platform !== 'linux') return { ok: false, reason: 'network namespaces need Linux' };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'network namespaces need root' };
  for (const bin of ['ip', 'tc']) {
    if (findBinary(bin) === undefined) return { ok: false, reason: `${bin} (iproute2) is not installed` };
  }
  const loss: LossMethod = findBinary('iptables') === undefined ? 'tc-u32' : 'iptables';
  try {
    const link = await createNetLink();
    await link.destroy();
  } catch (err) {
    return {
      ok: false,
      reason: `cannot create a namespace link: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
  return { ok: true, loss };
}

export interface NetLinkStats {
  /** Packets dropped in both directions: tc-u32 or iptables loss, link down. */
  readonly droppedPackets: number;
  /** TCP segments retransmitted inside the namespace (the server's side of the link). */
  readonly nsRetransmits: number;
}

/** A fault that is acting on the link; `ended` resolves once it was removed. */
export interface LinkFault {
  readonly ended: Promise<void>;
  stop(): Promise<void>;
}

/**
 * A network namespace joined to the host by a veth pair: a server started with `spawn` inside
 * it is reached at `nsAddress`, over a link whose loss, bandwidth and state the test controls.
 */
export interface NetLink {
  readonly name: string;
  readonly hostAddress: string;
  readonly nsAddress: string;
  readonly lossMethod: LossMethod;
  /** Starts a process inside the namespace; `destroy` stops it (by its id). */
  spawn(argv: Argv, options?: SpawnOptions): ChildProcess;
  /** Drops `probability` of the packets in both directions for `durationMs`; returns the loss really applied. */
  loss(probability: number, durationMs: number): Promise<LinkFault & { readonly effective: number }>;
  /** Limits both directions to `bitsPerSecond` (tc tbf) for `durationMs`. */
  bandwidth(bitsPerSecond: number, durationMs: number): Promise<LinkFault>;
  /** Drops every packet for `durationMs`: connects and open connections hang, as on a dead VPN. */
  down(durationMs: number): Promise<LinkFault>;
  /** Down for `downMs`, up for `upMs`, repeatedly (starting down) for `durationMs`. */
  flap(downMs: number, upMs: number, durationMs: number): Promise<LinkFault>;
  stats(): Promise<NetLinkStats>;
  /** Stops every fault and process and deletes the namespace and the veth pair. Idempotent. */
  destroy(): Promise<void>;
}

/**
 * Creates two namespaces: the server's (where `spawn` runs) and a router between it and the host,
 * joined by two veth pairs on a free /29 of 10.213.0.0/16 (host ⟷ router ⟷ server). Faults act on
 * the router's two devices, so a dropped packet is lost on the wire: a qdisc or iptables OUTPUT
 * drop on the sending host itself is reported back to its TCP stack, which sends the segment again
 * at once instead of meeting a retransmission timeout. On failure everything made so far is
 * removed before the error is thrown.
 */
export async function createNetLink(): Promise<NetLink> {
  const id = randomBytes(3).toString('hex');
  const name = `${NETNS_PREFIX}${process.pid}-${id}`;
  const router = `${name}-r`;
  const hostDev = `${VETH_PREFIX}${id}h`;
  const routerHostDev = `${VETH_PREFIX}${id}a`;
  const routerNsDev = `${VETH_PREFIX}${id}b`;
  const nsDev = `${VETH_PREFIX}${id}n`;
  const { hostAddress, routerHostAddress, routerNsAddress, nsAddress, nsSubnet } = await freeSubnet();
  const lossMethod: LossMethod = findBinary('iptables') === undefined ? 'tc-u32' : 'iptables';
  const children = new Set<ChildProcess>();
  const faults = new Set<() => Promise<void>>();
  let destroyed = false;

  const ns = (argv: Argv): Promise<string> => run(inNs(name, argv));
  const rt = (argv: Argv): Promise<string> => run(inNs(router, argv));
  let iptablesDropped = 0;
  const inRouter = async (list: Argv[]): Promise<void> => {
    for (const argv of list) await rt(argv);
  };

  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    destroyed = true;
    for (const stop of [...faults]) await stop().catch(() => undefined);
    for (const child of children) await stopChild(child);
    // Deleting a namespace deletes the veth ends inside it, and with them their peers.
    await run(['ip', 'netns', 'del', name]).catch(() => undefined);
    await run(['ip', 'netns', 'del', router]).catch(() => undefined);
    await run(['ip', 'link', 'del', hostDev]).catch(() => undefined);
    await run(['ip', 'route', 'del', nsSubnet]).catch(() => undefined);
  };

  try {
    await run(['ip', 'netns', 'add', name]);
    await run(['ip', 'netns', 'add', router]);
    await run(['ip', 'link', 'add', hostDev, 'type', 'veth', 'peer', 'name', routerHostDev]);
    await run(['ip', 'link', 'add', nsDev, 'type', 'veth', 'peer', 'name', routerNsDev]);
    await run(['ip', 'link', 'set', routerHostDev, 'netns', router]);
    await run(['ip', 'link', 'set', routerNsDev, 'netns', router]);
    await run(['ip', 'link', 'set', nsDev, 'netns', name]);
    await run(['ip', 'addr', 'add', `${hostAddress}/30`, 'dev', hostDev]);
    await run(['ip', 'link', 'set', hostDev, 'up']);
    await run(['ip', 'route', 'add', nsSubnet, 'via', routerHostAddress, 'dev', hostDev]);
    await rt(['ip', 'addr', 'add', `${routerHostAddress}/30`, 'dev', routerHostDev]);
    await rt(['ip', 'addr', 'add', `${routerNsAddress}/30`, 'dev', routerNsDev]);
    await rt(['ip', 'link', 'set', routerHostDev, 'up']);
    await rt(['ip', 'link', 'set', routerNsDev, 'up']);
    await rt(['sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward']);
    await ns(['ip', 'addr', 'add', `${nsAddress}/30`, 'dev', nsDev]);
    await ns(['ip', 'link', 'set', nsDev, 'up']);
    await ns(['ip', 'link', 'set', 'lo', 'up']);
    await ns(['ip', 'route', 'add', 'default', 'via', routerNsAddress]);
    // One packet per skb from the senders, so one drop is one segment lost.
    await run(['ip', 'link', 'set', 'dev', hostDev, 'gso_max_segs', '1']);
    await ns(['ip', 'link', 'set', 'dev', nsDev, 'gso_max_segs', '1']);
    await inRouter(qdiscTree(routerHostDev));
    await inRouter(qdiscTree(routerNsDev));
  } catch (err) {
    await destroy();
    throw err;
  }

  /** Applies `on` now and `off` after `durationMs` (or at `stop()`/`destroy()`), once. */
  const bounded = async (
    on: () => Promise<void>,
    off: () => Promise<void>,
    durationMs: number,
  ): Promise<LinkFault> => {
    if (destroyed) throw new Error('the link is destroyed');
    if (!(durationMs > 0 && durationMs <= MAX_FAULT_MS))
      throw new RangeError(`a fault lasts between 1 ms and ${MAX_FAULT_MS} ms`);
    let resolveEnded: () => void = () => undefined;
    const ended = new Promise<void>((r) => (resolveEnded = r));
    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        clearTimeout(timer);
        faults.delete(stop);
        await off().catch(() => undefined);
        resolveEnded();
      })();
      return stopping;
    };
    faults.add(stop);
    const timer = setTimeout(() => void stop(), durationMs);
    try {
      await on();
    } catch (err) {
      await stop();
      throw err;
    }
    return { ended, stop };
  };

  /** The same change on the router's two devices (both directions of the link). */
  const both = (make: (dev: string) => Argv[]): Promise<void> =>
    inRouter(make(routerHostDev)).then(() => inRouter(make(routerNsDev)));

  const link: NetLink = {
    name,
    hostAddress,
    nsAddress,
    lossMethod,
    spawn(argv, options = {}) {
      if (destroyed) throw new Error('the link is destroyed');
      const [file, ...args] = inNs(name, argv);
      const child = spawn(file as string, args, { stdio: ['ignore', 'pipe', 'inherit'], ...options });
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    async loss(probability, durationMs) {
      if (!(probability > 0 && probability < 1))
        throw new RangeError('loss probability must be within (0, 1)');
      const fault = await bounded(
        () =>
          lossMethod === 'iptables'
            ? inRouter(lossOn(routerNsDev, probability, lossMethod))
            : both((dev) => lossOn(dev, probability, lossMethod)),
        async () => {
          if (lossMethod !== 'iptables') return both((dev) => lossOff(dev, probability, lossMethod));
          // A deleted rule takes its counter with it: keep what it dropped for stats().
          iptablesDropped += parseIptablesDropped(await rt(IPTABLES_COUNTERS));
          return inRouter(lossOff(routerNsDev, probability, lossMethod));
        },
        durationMs,
      );
      return { ...fault, effective: effectiveLoss(probability, lossMethod) };
    },
    bandwidth(bitsPerSecond, durationMs) {
      if (!(bitsPerSecond >= 8_000)) throw new RangeError('bandwidth must be at least 8 kbit/s');
      return bounded(
        () => both((dev) => bandwidthOn(dev, bitsPerSecond)),
        () => both(bandwidthOff),
        durationMs,
      );
    },
    down(durationMs) {
      return bounded(
        () => both(downOn),
        () => both(downOff),
        durationMs,
      );
    },
    flap(downMs, upMs, durationMs) {
      if (!(downMs > 0 && upMs > 0)) throw new RangeError('downMs and upMs must be positive');
      let timer: NodeJS.Timeout | undefined;
      let isDown = false;
      let chain: Promise<void> = Promise.resolve();
      // Transitions run one after another, so a stop never races a half-applied toggle.
      const set = (down: boolean): Promise<void> => {
        chain = chain.then(async () => {
          if (down === isDown) return;
          isDown = down;
          await both(down ? downOn : downOff);
        });
        return chain;
      };
      const cycle = (down: boolean): void => {
        timer = setTimeout(
          () => {
            void set(!down).catch(() => undefined);
            cycle(!down);
          },
          down ? downMs : upMs,
        );
      };
      return bounded(
        async () => {
          await set(true);
          cycle(true);
        },
        async () => {
          clearTimeout(timer);
          await set(false);
        },
        durationMs,
      );
    },
    async stats() {
      // The drop class counts tc-u32 loss and link-down drops; iptables loss is counted by its
      // rules (the live ones, plus what removed ones had dropped).
      const droppedPackets =
        parseDropped(await rt(['tc', '-s', 'class', 'show', 'dev', routerHostDev])) +
        parseDropped(await rt(['tc', '-s', 'class', 'show', 'dev', routerNsDev])) +
        (lossMethod === 'iptables' ? iptablesDropped + parseIptablesDropped(await rt(IPTABLES_COUNTERS)) : 0);
      const nsRetransmits = parseRetransmits(await ns(['cat', '/proc/net/snmp']));
      return { droppedPackets, nsRetransmits };
    },
    destroy,
  };
  return link;
}

/** Ends a child started in the namespace: SIGTERM, then SIGKILL after 5 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

interface Subnet {
  readonly hostAddress: string;
  readonly routerHostAddress: string;
  readonly routerNsAddress: string;
  readonly nsAddress: string;
  /** The server side's /30, routed from the host through the router. */
  readonly nsSubnet: string;
}

/** A /29 of 10.213.0.0/16 that no interface of the host uses yet, cut in two /30s. */
async function freeSubnet(): Promise<Subnet> {
  const used = await run(['ip', '-o', '-4', 'addr', 'show']);
  for (let attempt = 0; attempt < 50; attempt++) {
    const n = randomBytes(2).readUInt16BE(0) & 0x1fff;
    const prefix = `10.213.${n >> 5}.`;
    const first = (n & 31) * 8;
    const at = (k: number): string => `${prefix}${first + k}`;
    if ([1, 2, 5, 6].some((k) => used.includes(` ${at(k)}/`))) continue;
    return {
      hostAddress: at(1),
      routerHostAddress: at(2),
      routerNsAddress: at(5),
      nsAddress: at(6),
      nsSubnet: `${at(4)}/30`,
    };
  }
  throw new Error('no free /29 in 10.213.0.0/16');
}

/**
 * Deletes namespaces (and their veth pairs) left by runs that crashed: names with the prefix
 * whose creator process is gone. Returns the names it deleted.
 */
export async function cleanupStaleLinks(): Promise<string[]> {
  if (findBinary('ip') === undefined) return [];
  const listed = await run(['ip', 'netns', 'list']).catch(() => '');
  const stale: string[] = [];
  for (const line of listed.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const match = new RegExp(`^${NETNS_PREFIX}(\\d+)-([0-9a-f]{6})(-r)?$`).exec(name);
    if (match === null || alive(Number(match[1]))) continue;
    // Processes still inside a leftover namespace were started by a crashed run of this module.
    const pids = await run(['ip', 'netns', 'pids', name]).catch(() => '');
    for (const pid of pids.split('\n').filter((p) => /^\d+$/.test(p))) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await run(['ip', 'netns', 'del', name]).catch((err: unknown) => {
      if (!(err instanceof CommandError)) throw err;
    });
    await run(['ip', 'link', 'del', `${VETH_PREFIX}${match[2] ?? ''}h`]).catch(() => undefined);
    stale.push(name);
  }
  return stale;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
