/**
 * The `ip`, `tc` and `iptables` command lines of a network-namespace link, as data: `netns.ts`
 * runs them, the unit tests read them. No `netem` (absent on the machines this runs on): loss is
 * `iptables -m statistic` when iptables is installed, otherwise a `tc` u32 filter on the IP ID.
 */

export type Argv = readonly string[];

/** How packets are dropped: `iptables` (random, per packet) or `tc-u32` (deterministic, by IP ID). */
export type LossMethod = 'iptables' | 'tc-u32';

/** Handles of the qdisc tree every link device gets at creation. */
const ROOT = '1:';
const PASS = '1:10';
const DROP = '1:20';
/** Filter priorities: loss and link-down filters are removed by priority. */
const LOSS_PRIO = '1';
const DOWN_PRIO = '2';
/** IP ID residues are taken modulo this: loss comes in steps of 1/64. */
export const LOSS_MODULUS = 64;

/** Runs `argv` inside namespace `ns`. */
export function inNs(ns: string, argv: Argv): Argv {
  return ['ip', 'netns', 'exec', ns, ...argv];
}

/**
 * The tree on one device: an htb root whose default class passes everything (10 Gbit/s; a tbf
 * below it when bandwidth is limited) and a second class whose `pfifo limit 0` drops every packet
 * a filter sends to it.
 */
export function qdiscTree(dev: string): Argv[] {
  return [
    ['tc', 'qdisc', 'add', 'dev', dev, 'root', 'handle', ROOT, 'htb', 'default', '10', 'r2q', '100000'],
    ['tc', 'class', 'add', 'dev', dev, 'parent', ROOT, 'classid', PASS, 'htb', 'rate', '10gbit'],
    ['tc', 'class', 'add', 'dev', dev, 'parent', ROOT, 'classid', DROP, 'htb', 'rate', '10gbit'],
    ['tc', 'qdisc', 'add', 'dev', dev, 'parent', DROP, 'handle', '20:', 'pfifo', 'limit', '0'],
  ];
}

/**
 * IP ID residues (mod 64) to drop for a loss of `probability`, spread evenly and never 0: SYN-ACKs
 * and some control packets carry ID 0, and dropping them all would stop every connect.
 */
export function lossResidues(probability: number): number[] {
  const k = Math.round(probability * LOSS_MODULUS);
  if (k <= 0) return [];
  const count = Math.min(k, LOSS_MODULUS - 1);
  return Array.from({ length: count }, (_, i) => 1 + Math.floor((i * (LOSS_MODULUS - 1)) / count));
}

/** The loss a `tc-u32` filter set really applies for a requested probability. */
export function effectiveLoss(probability: number, method: LossMethod): number {
  return method === 'iptables' ? probability : lossResidues(probability).length / LOSS_MODULUS;
}

/** Commands that start dropping `probability` of the packets leaving `dev` (tc-u32) or forwarded by the router (iptables). */
export function lossOn(dev: string, probability: number, method: LossMethod): Argv[] {
  if (method === 'iptables') {
    const p = probability.toFixed(4);
    return [iptablesRule('-I', p)];
  }
  // IP ID is the 16-bit field at offset 4 of the IP header; TCP increments it per packet and socket.
  return lossResidues(probability).map((residue) => [
    'tc',
    'filter',
    'add',
    'dev',
    dev,
    'parent',
    ROOT,
    'protocol',
    'ip',
    'prio',
    LOSS_PRIO,
    'u32',
    'match',
    'u16',
    String(residue),
    `0x${(LOSS_MODULUS - 1).toString(16)}`,
    'at',
    '4',
    'flowid',
    DROP,
  ]);
}

/** Commands that stop the loss of `lossOn` (with the same probability for iptables). */
export function lossOff(dev: string, probability: number, method: LossMethod): Argv[] {
  if (method === 'iptables') {
    const p = probability.toFixed(4);
    return [iptablesRule('-D', p)];
  }
  return [['tc', 'filter', 'del', 'dev', dev, 'parent', ROOT, 'prio', LOSS_PRIO]];
}

/** In the router namespace: forwarded packets, both directions. */
function iptablesRule(op: '-I' | '-D', p: string): Argv {
  return [
    'iptables',
    '-w',
    op,
    'FORWARD',
    '-m',
    'statistic',
    '--mode',
    'random',
    '--probability',
    p,
    '-j',
    'DROP',
  ];
}

/** Every packet leaving `dev` is dropped: a link that is down without telling anyone (a dead VPN). */
export function downOn(dev: string): Argv[] {
  return [
    [
      'tc',
      'filter',
      'add',
      'dev',
      dev,
      'parent',
      ROOT,
      'protocol',
      'all',
      'prio',
      DOWN_PRIO,
      'u32',
      'match',
      'u32',
      '0',
      '0',
      'at',
      '0',
      'flowid',
      DROP,
    ],
  ];
}

export function downOff(dev: string): Argv[] {
  return [['tc', 'filter', 'del', 'dev', dev, 'parent', ROOT, 'prio', DOWN_PRIO]];
}

/** Token-bucket shaping of what leaves `dev` to `bitsPerSecond`. */
export function bandwidthOn(dev: string, bitsPerSecond: number): Argv[] {
  // Burst: 10 ms at the rate, at least a few full-size packets, as tbf needs one MTU at least.
  const burst = Math.max(16 * 1024, Math.ceil(bitsPerSecond / 8 / 100));
  return [
    [
      'tc',
      'qdisc',
      'replace',
      'dev',
      dev,
      'parent',
      PASS,
      'handle',
      '10:',
      'tbf',
      'rate',
      `${Math.round(bitsPerSecond)}bit`,
      'burst',
      String(burst),
      'latency',
      '400ms',
    ],
  ];
}

export function bandwidthOff(dev: string): Argv[] {
  return [['tc', 'qdisc', 'del', 'dev', dev, 'parent', PASS, 'handle', '10:']];
}

/** Packets dropped on `dev` by the drop class (loss and link down), from `tc -s class show`. */
export function parseDropped(tcClassStats: string): number {
  const block = tcClassStats.split(/\n(?=class )/).find((b) => b.startsWith(`class htb ${DROP} `));
  const match = block?.match(/dropped (\d+)/);
  return match === undefined || match === null ? 0 : Number(match[1]);
}

/** The listing `parseIptablesDropped` reads: the router's FORWARD chain with exact packet counts. */
export const IPTABLES_COUNTERS: Argv = ['iptables', '-w', '-L', 'FORWARD', '-v', '-x', '-n'];

/** Packets the statistic DROP rules of an `IPTABLES_COUNTERS` listing dropped. */
export function parseIptablesDropped(listing: string): number {
  return listing
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols[2] === 'DROP' && cols.includes('statistic'))
    .reduce((sum, cols) => sum + Number(cols[0] ?? 0), 0);
}

/** `RetransSegs` of `/proc/net/snmp` (TCP segments retransmitted in that namespace). */
export function parseRetransmits(snmp: string): number {
  const lines = snmp.split('\n').filter((l) => l.startsWith('Tcp:'));
  const [names, values] = lines.map((l) => l.trim().split(/\s+/));
  const at = names?.indexOf('RetransSegs') ?? -1;
  return at < 0 ? 0 : Number(values?.[at] ?? 0);
}
