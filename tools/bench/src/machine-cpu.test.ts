import { describe, expect, it } from 'vitest';
import {
  formatMachineCpu,
  groupTicksBetween,
  listeningInodes,
  machineCpuBetween,
  parsePidStat,
  parseProcStat,
  type MachineSample,
  type ProcessTicks,
} from './machine-cpu.ts';

// Field values are distinct so that reading a field from the wrong position changes the result.
const PROC_STAT = [
  'cpu  1000 20 300 5000 40 5 60 7 11 13',
  'cpu0 500 10 150 2500 20 2 30 3 5 6',
  'cpu1 500 10 150 2500 20 3 30 4 6 7',
  'intr 2444214 0 0 0',
  'ctxt 5911306',
].join('\n');

describe('parseProcStat', () => {
  it('sums user, nice, system, irq, softirq and steal as busy; idle and iowait only into the total', () => {
    // busy = 1000 + 20 + 300 + 5 + 60 + 7; guest (11) and guest_nice (13) are inside user and nice.
    expect(parseProcStat(PROC_STAT)).toEqual({ busy: 1392, total: 1392 + 5000 + 40 });
  });

  it('reads the aggregate line, not a per-core one', () => {
    const reordered = PROC_STAT.split('\n').reverse().join('\n');
    expect(parseProcStat(reordered).busy).toBe(1392);
  });

  it('counts fields an old kernel lacks as 0', () => {
    expect(parseProcStat('cpu  10 0 5 100\n')).toEqual({ busy: 15, total: 115 });
  });

  it('refuses text without an aggregate cpu line', () => {
    expect(() => parseProcStat('cpu0 1 2 3 4\nintr 5\n')).toThrow(/no aggregate cpu line/);
  });
});

/** A /proc/<pid>/stat line; utime 14, stime 15, cutime 16, cstime 17, starttime 22. */
function pidStatLine(
  comm: string,
  f: { utime: number; stime: number; cutime: number; cstime: number; start: number },
) {
  return (
    `5437 (${comm}) S 1 5107 4231 0 -1 4194304 212095 0 1947 0 ${f.utime} ${f.stime} ${f.cutime} ${f.cstime} ` +
    `20 0 115 0 ${f.start} 6611120128 196148 18446744073709551615 0 0 0 0 0 0 0 3 16800972 0 0 0 17 0 0 0 0 0 0\n`
  );
}

describe('parsePidStat', () => {
  it('takes utime + stime as the CPU, cutime + cstime as reaped, and the start time', () => {
    const text = pidStatLine('java', { utime: 9880, stime: 4200, cutime: 7, cstime: 3, start: 20396 });
    expect(parsePidStat(text)).toEqual({ comm: 'java', cpu: 14080, reaped: 10, startTime: 20396 });
  });

  it('finds the fields after a comm holding spaces and parentheses', () => {
    const text = pidStatLine('a) (b c', { utime: 1, stime: 2, cutime: 4, cstime: 8, start: 16 });
    expect(parsePidStat(text)).toEqual({ comm: 'a) (b c', cpu: 3, reaped: 12, startTime: 16 });
  });

  it('refuses a line cut short', () => {
    expect(() => parsePidStat('5437 (java) S 1 5107')).toThrow(/no field 14/);
  });
});

describe('listeningInodes', () => {
  const table = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100007F:2384 00000000:0000 0A 00000000:00000000 00:00000000 00000000   0        0 6451 1 0 100 0 0 10 0',
    '   1: 0100007F:2384 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000   0        0 7777 1 0 20 4 30 10 -1',
    '   2: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000   0        0 9820 1 0 100 0 0 10 0',
  ].join('\n');

  it('returns the inodes of sockets in LISTEN on the port (hex in the table)', () => {
    expect(listeningInodes(table, 9092)).toEqual(['6451']);
    expect(listeningInodes(table, 8081)).toEqual(['9820']);
    expect(listeningInodes(table, 5432)).toEqual([]);
  });
});

const ticks = (cpu: number, reaped = 0, startTime = 100): ProcessTicks => ({
  comm: 'postgres',
  cpu,
  reaped,
  startTime,
});

describe('groupTicksBetween', () => {
  it('counts growth of processes in both, all of new ones, and a restarted pid as new', () => {
    const before = new Map([
      [1, ticks(100, 50)],
      [2, ticks(10)],
      [3, ticks(40)],
      [4, ticks(500, 0, 100)],
    ]);
    const after = new Map([
      [1, ticks(130, 70)], // +30 own, +20 reaped (pid 3 ended)
      [2, ticks(15)], // +5
      [5, ticks(8)], // new: all 8
      [4, ticks(6, 0, 900)], // pid reused: all 6
    ]);
    expect(groupTicksBetween(before, after)).toBe(30 + 20 + 5 + 8 + 6);
  });
});

function sample(
  at: number,
  busy: number,
  total: number,
  p: { broker?: ProcessTicks; registry?: ProcessTicks; postgres?: [number, ProcessTicks][] },
): MachineSample {
  return {
    at,
    machine: { busy, total },
    processes: {
      broker: new Map(p.broker === undefined ? [] : [[10, p.broker]]),
      registry: new Map(p.registry === undefined ? [] : [[11, p.registry]]),
      postgres: new Map(p.postgres ?? []),
    },
  };
}

describe('machineCpuBetween', () => {
  // 10 s on 2 cores at 100 ticks/s: 2,000 ticks in all, 1,950 busy = 19.5 busy core-seconds.
  const before = sample(0, 10_000, 50_000, {
    broker: ticks(1_000, 0, 5),
    registry: ticks(200, 0, 6),
    postgres: [[20, ticks(300)]],
  });
  const after = sample(10_000, 11_950, 52_000, {
    broker: ticks(1_300, 0, 5),
    registry: ticks(210, 0, 6),
    postgres: [
      [20, ticks(380)],
      [21, ticks(20)],
    ],
  });
  const window = {
    records: 10_000,
    cores: 2,
    ticksPerSecond: 100,
    accounted: { services: 14, simulator: 1 },
  };

  it('splits the busy CPU per record into the parts, the stack and the rest', () => {
    const m = machineCpuBetween(before, after, window);
    expect(m).toEqual({
      cores: 2,
      seconds: 10,
      busyShare: 0.975,
      busyCoreSeconds: 19.5,
      records: 10_000,
      microsPerRecord: 1950,
      ceilingPerSecond: 1026,
      // broker 300 ticks = 3 s, registry 0.1 s, postgres 80 + 20 ticks = 1 s; other 19.5 - 14 - 1 - 3 - 0.1 - 1.
      components: { services: 1400, simulator: 100, broker: 300, registry: 10, postgres: 100, other: 40 },
      notMeasured: {},
    });
  });

  it('reports a missing or restarted stack process as not measured, and leaves its CPU in other', () => {
    const restarted = sample(10_000, 11_950, 52_000, { broker: ticks(5, 0, 999), postgres: [] });
    const m = machineCpuBetween(sample(0, 10_000, 50_000, { broker: ticks(1_000, 0, 5) }), restarted, window);
    expect(m?.notMeasured).toEqual({
      broker: 'stopped or restarted in the window',
      registry: 'process not found',
      postgres: 'no postgres process found',
    });
    expect(m?.components).toEqual({ services: 1400, simulator: 100, other: 450 });
  });

  it('is undefined without records or without time', () => {
    expect(machineCpuBetween(before, after, { ...window, records: 0 })).toBeUndefined();
    expect(machineCpuBetween(before, before, window)).toBeUndefined();
  });

  it('prints one line with the share, the split and the cap', () => {
    const m = machineCpuBetween(before, after, window);
    if (m === undefined) throw new Error('no figure');
    expect(formatMachineCpu('end-to-end', m, 'resource')).toEqual([
      'machine, end-to-end: busy 98% of 2 cores over 10 s = 1,950 µs/resource: services 1,400, simulator 100, ' +
        'broker 300, registry 10.0, postgres 100, other 40.0; 2 cores cap it near 1,026 resources/s',
    ]);
  });
});
