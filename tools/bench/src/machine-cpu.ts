/**
 * The CPU of the whole machine over a benchmark window, split by who spent it: the pipeline's own
 * processes (passed in by the part), the stack's processes (Kafka broker, schema registry,
 * PostgreSQL) and "other" (the kernel, anything else running). On a small machine this shows
 * whether the cores are what limits the throughput, and what the whole machine spends per record.
 * Linux only (/proc); elsewhere no probe is made and the figures are absent.
 *
 * @see https://man7.org/linux/man-pages/man5/proc_stat.5.html
 * @see https://man7.org/linux/man-pages/man5/proc_pid_stat.5.html
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { availableParallelism, platform } from 'node:os';
import { join } from 'node:path';
import { formatCount, formatMicros } from '@ehrflow/pipeline-tools';
import { REPO_ROOT } from '@ehrflow/testing';

/** Clock ticks of the aggregate `cpu` line of /proc/stat, summed over all cores since boot. */
export interface MachineTicks {
  /** user + nice + system + irq + softirq + steal. */
  readonly busy: number;
  /** busy + idle + iowait. */
  readonly total: number;
}

/** Reads the aggregate `cpu` line of /proc/stat. */
export function parseProcStat(text: string): MachineTicks {
  const line = text.split('\n').find((l) => /^cpu\s/.test(l));
  if (line === undefined) throw new Error('no aggregate cpu line in /proc/stat');
  const n = line.trim().split(/\s+/).slice(1).map(Number);
  if (n.length < 4 || n.some((v) => !Number.isFinite(v)))
    throw new Error('unreadable cpu line in /proc/stat');
  // Fields 9 and 10 (guest, guest_nice) are already counted in user and nice. Old kernels lack
  // the fields from iowait on: they count as 0.
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = n;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

/** CPU clock ticks of one process, from /proc/<pid>/stat. */
export interface ProcessTicks {
  readonly comm: string;
  /** utime + stime: the process's own CPU. */
  readonly cpu: number;
  /** cutime + cstime: CPU of the children it has waited for (the postmaster reaps its backends). */
  readonly reaped: number;
  /** Start time after boot: tells a pid reused by a new process from the one sampled before. */
  readonly startTime: number;
}

/** Reads /proc/<pid>/stat (utime, stime, cutime, cstime are fields 14-17, starttime field 22). */
export function parsePidStat(text: string): ProcessTicks {
  // comm (field 2) is in parentheses and may itself hold spaces and parentheses: the fields
  // after it start after the last ')'.
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error('not a /proc/<pid>/stat line');
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const field = (n: number): number => {
    const v = Number(rest[n - 3]);
    if (!Number.isFinite(v)) throw new Error(`no field ${n} in /proc/<pid>/stat`);
    return v;
  };
  return {
    comm: text.slice(open + 1, close),
    cpu: field(14) + field(15),
    reaped: field(16) + field(17),
    startTime: field(22),
  };
}

/** Inodes of the sockets listening on `port` in a /proc/net/tcp or /proc/net/tcp6 table. */
export function listeningInodes(table: string, port: number): string[] {
  const out: string[] = [];
  for (const line of table.split('\n').slice(1)) {
    const [, local, , state, , , , , , inode] = line.trim().split(/\s+/);
    if (local === undefined || inode === undefined || state !== '0A') continue; // 0A: LISTEN
    if (Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port) out.push(inode);
  }
  return out;
}

/**
 * Ticks a group of processes spent between two samples (pid → ticks). A process in both counts
 * what it grew by, its reaped children included; one that appeared counts all it has (it started
 * inside the window). One that vanished is lost, except through its parent's reaped CPU: a
 * PostgreSQL backend that ended inside the window is counted whole, its time before the window too.
 */
export function groupTicksBetween(
  before: ReadonlyMap<number, ProcessTicks>,
  after: ReadonlyMap<number, ProcessTicks>,
): number {
  let ticks = 0;
  for (const [pid, now] of after) {
    const then = before.get(pid);
    const same = then !== undefined && then.startTime === now.startTime;
    ticks += same ? now.cpu + now.reaped - then.cpu - then.reaped : now.cpu + now.reaped;
  }
  return ticks;
}

/** Processes of the stack measured beside the pipeline's own. */
export const STACK_COMPONENTS = ['broker', 'registry', 'postgres'] as const;
export type StackComponent = (typeof STACK_COMPONENTS)[number];

/** One reading of the machine and of the stack's processes. */
export interface MachineSample {
  readonly at: number;
  readonly machine: MachineTicks;
  /** pid → ticks; broker and registry hold their one process while it runs. */
  readonly processes: Readonly<Record<StackComponent, ReadonlyMap<number, ProcessTicks>>>;
}

/** The whole machine's CPU over a window, per record. */
export interface MachineCpu {
  /** Cores the machine's CPU is shared over (os.availableParallelism()). */
  readonly cores: number;
  readonly seconds: number;
  /** Share of all cores busy over the window (/proc/stat busy / total). */
  readonly busyShare: number;
  readonly busyCoreSeconds: number;
  readonly records: number;
  /** Busy CPU of the whole machine per record (µs). */
  readonly microsPerRecord: number;
  /** cores × 1e6 / microsPerRecord: the rate at which this machine's cores are used up. */
  readonly ceilingPerSecond: number;
  /**
   * µs per record of each component: the pipeline's processes as the part passed them in, then
   * broker, registry, postgres, and `other`: the machine less every component measured.
   */
  readonly components: Readonly<Record<string, number>>;
  /** Components that could not be measured, with the reason (their CPU is then inside `other`). */
  readonly notMeasured: Readonly<Record<string, string>>;
}

export interface MachineWindow {
  readonly records: number;
  readonly cores: number;
  readonly ticksPerSecond: number;
  /** CPU seconds of the pipeline's own processes over the same window, by name (undefined: not measured). */
  readonly accounted: Readonly<Record<string, number | undefined>>;
}

/** The machine's CPU between two samples; undefined when no record or no time passed. */
export function machineCpuBetween(
  before: MachineSample,
  after: MachineSample,
  window: MachineWindow,
): MachineCpu | undefined {
  const busyTicks = after.machine.busy - before.machine.busy;
  const totalTicks = after.machine.total - before.machine.total;
  if (!(window.records > 0) || !(totalTicks > 0)) return undefined;
  const perRecord = (seconds: number): number => round((seconds * 1e6) / window.records, 1);
  const busySeconds = busyTicks / window.ticksPerSecond;
  const components: Record<string, number> = {};
  const notMeasured: Record<string, string> = {};
  let accounted = 0;
  const add = (name: string, seconds: number): void => {
    accounted += seconds;
    components[name] = perRecord(seconds);
  };
  for (const [name, seconds] of Object.entries(window.accounted)) {
    if (seconds === undefined) notMeasured[name] = 'no CPU figure';
    else add(name, seconds);
  }
  for (const name of STACK_COMPONENTS) {
    const ticks = componentTicks(name, before.processes[name], after.processes[name]);
    if (typeof ticks === 'string') notMeasured[name] = ticks;
    else add(name, ticks / window.ticksPerSecond);
  }
  components.other = perRecord(busySeconds - accounted);
  const microsPerRecord = perRecord(busySeconds);
  return {
    cores: window.cores,
    seconds: round((after.at - before.at) / 1000, 1),
    busyShare: round(busyTicks / totalTicks, 3),
    busyCoreSeconds: round(busySeconds, 2),
    records: window.records,
    microsPerRecord,
    ceilingPerSecond: microsPerRecord > 0 ? Math.round((window.cores * 1e6) / microsPerRecord) : 0,
    components,
    notMeasured,
  };
}

/** Ticks of one stack component between two samples, or why it was not measured. */
function componentTicks(
  name: StackComponent,
  before: ReadonlyMap<number, ProcessTicks>,
  after: ReadonlyMap<number, ProcessTicks>,
): number | string {
  if (name === 'postgres')
    return after.size === 0 ? 'no postgres process found' : groupTicksBetween(before, after);
  // The broker and the registry are one process each: a restart in the window spoils the figure.
  const [pid] = before.keys();
  if (pid === undefined) return 'process not found';
  if (after.get(pid)?.startTime !== before.get(pid)?.startTime) return 'stopped or restarted in the window';
  return groupTicksBetween(before, after);
}

/** Lines for the report: `machine, <part>: busy 96% of 2 cores … cap it near N <unit>/s`. */
export function formatMachineCpu(part: string, m: MachineCpu, unit: 'record' | 'resource'): string[] {
  const parts = Object.entries(m.components).map(
    ([name, us]) => `${name} ${formatMicros(us).replace(' µs', '')}`,
  );
  const lines = [
    `machine, ${part}: busy ${Math.round(m.busyShare * 100)}% of ${m.cores} cores over ${m.seconds} s = ` +
      `${formatMicros(m.microsPerRecord)}/${unit}: ${parts.join(', ')}; ` +
      `${m.cores} cores cap it near ${formatCount(m.ceilingPerSecond)} ${unit}s/s`,
  ];
  for (const [name, reason] of Object.entries(m.notMeasured))
    lines.push(`  machine, ${part}: ${name} not measured (${reason}; inside other)`);
  return lines;
}

/** Samples the machine and the stack's processes; figures between two samples. */
export interface MachineProbe {
  /** Undefined when /proc/stat cannot be read. */
  sample(): MachineSample | undefined;
  between(
    before: MachineSample | undefined,
    after: MachineSample | undefined,
    records: number,
    accounted: Readonly<Record<string, number | undefined>>,
  ): MachineCpu | undefined;
}

/**
 * A probe of this machine, or undefined off Linux. The broker and the registry are the processes
 * listening on the ports of KAFKA_BROKERS and SCHEMA_REGISTRY_URL (the stack reuses whatever
 * already listens there), else the live `java` process of the stack's pid file
 * (`$EHRFLOW_STACK_HOME/run/kafka.pid`, `registry.pid`); PostgreSQL is every process named
 * `postgres`, looked up again at each sample.
 */
export function createMachineProbe(env: NodeJS.ProcessEnv): MachineProbe | undefined {
  if (platform() !== 'linux') return undefined;
  const runDir = join(env.EHRFLOW_STACK_HOME ?? join(REPO_ROOT, '.run', 'stack'), 'run');
  const broker = locate(brokerPort(env.KAFKA_BROKERS), join(runDir, 'kafka.pid'));
  const registry = locate(urlPort(env.SCHEMA_REGISTRY_URL), join(runDir, 'registry.pid'));
  const ticksPerSecond = clockTicks();
  const cores = availableParallelism();
  const one = (pid: number | undefined): Map<number, ProcessTicks> => {
    const out = new Map<number, ProcessTicks>();
    const ticks = pid === undefined ? undefined : readPid(pid);
    if (pid !== undefined && ticks !== undefined) out.set(pid, ticks);
    return out;
  };
  return {
    sample() {
      let machine: MachineTicks;
      try {
        machine = parseProcStat(readFileSync('/proc/stat', 'utf8'));
      } catch {
        return undefined;
      }
      return {
        at: Date.now(),
        machine,
        processes: { broker: one(broker), registry: one(registry), postgres: processesNamed('postgres') },
      };
    },
    between(before, after, records, accounted) {
      if (before === undefined || after === undefined) return undefined;
      return machineCpuBetween(before, after, { records, cores, ticksPerSecond, accounted });
    },
  };
}

/** USER_HZ, the unit of /proc's CPU times; 100 on every mainstream Linux when getconf is missing. */
function clockTicks(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return n > 0 ? n : 100;
  } catch {
    return 100;
  }
}

function brokerPort(brokers: string | undefined): number | undefined {
  const first = brokers?.split(',')[0]?.trim();
  const port = Number(first?.slice(first.lastIndexOf(':') + 1));
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

function urlPort(url: string | undefined): number | undefined {
  if (url === undefined || !URL.canParse(url)) return undefined;
  const u = new URL(url);
  return Number(u.port || (u.protocol === 'https:' ? 443 : 80));
}

function locate(port: number | undefined, pidFile: string): number | undefined {
  return (port === undefined ? undefined : pidListeningOn(port)) ?? livePidFile(pidFile);
}

/** The process owning a socket that listens on `port`; undefined when none is visible to us. */
function pidListeningOn(port: number): number | undefined {
  const inodes = new Set(
    ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((table) => listeningInodes(readOr(table, ''), port)),
  );
  if (inodes.size === 0) return undefined;
  for (const pid of pids()) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or another user's process
    }
    for (const fd of fds) {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkOr(`/proc/${pid}/fd/${fd}`))?.[1];
      if (inode !== undefined && inodes.has(inode)) return pid;
    }
  }
  return undefined;
}

/** The pid in a stack pid file when that process still runs and is a JVM (not a reused pid). */
function livePidFile(file: string): number | undefined {
  const pid = Number(readOr(file, '').trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return readPid(pid)?.comm === 'java' ? pid : undefined;
}

/** Every process with this comm; one that ends while being read is left out. */
function processesNamed(comm: string): Map<number, ProcessTicks> {
  const out = new Map<number, ProcessTicks>();
  for (const pid of pids()) {
    const ticks = readPid(pid);
    if (ticks?.comm === comm) out.set(pid, ticks);
  }
  return out;
}

function pids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

function readPid(pid: number): ProcessTicks | undefined {
  try {
    return parsePidStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

function readOr(file: string, fallback: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

function readlinkOr(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
