import { describe, expect, it } from 'vitest';
import {
  parseIptablesDropped,
  bandwidthOn,
  effectiveLoss,
  lossOn,
  lossResidues,
  LOSS_MODULUS,
  parseDropped,
  parseRetransmits,
} from './link-commands.ts';

describe('link commands', () => {
  it('drops a share of IP ID residues close to the asked loss, never residue 0', () => {
    for (const p of [0.01, 0.05, 0.1, 0.3]) {
      const residues = lossResidues(p);
      expect(new Set(residues).size).toBe(residues.length);
      expect(residues).not.toContain(0);
      expect(Math.max(...residues)).toBeLessThan(LOSS_MODULUS);
      expect(Math.abs(effectiveLoss(p, 'tc-u32') - p)).toBeLessThanOrEqual(0.5 / LOSS_MODULUS + 1e-9);
    }
    expect(lossResidues(0.001)).toEqual([]);
    expect(effectiveLoss(0.07, 'iptables')).toBe(0.07);
  });

  it('builds one u32 filter per residue, or one iptables statistic rule in the router', () => {
    const tc = lossOn('nfabcdefa', 0.1, 'tc-u32');
    expect(tc).toHaveLength(lossResidues(0.1).length);
    expect(tc[0]).toEqual(expect.arrayContaining(['u32', 'match', 'u16', 'at', '4', 'flowid', '1:20']));
    expect(lossOn('nfabcdefa', 0.05, 'iptables')).toEqual([
      [
        'iptables',
        '-w',
        '-I',
        'FORWARD',
        '-m',
        'statistic',
        '--mode',
        'random',
        '--probability',
        '0.0500',
        '-j',
        'DROP',
      ],
    ]);
  });

  it('shapes with tbf under the pass class', () => {
    const [argv] = bandwidthOn('dev0', 2_000_000);
    expect(argv).toEqual(expect.arrayContaining(['tbf', 'rate', '2000000bit', 'parent', '1:10']));
  });

  it('reads drop and retransmit counters', () => {
    const stats = [
      'class htb 1:10 root prio 0 rate 10Gbit ceil 10Gbit burst 0b cburst 0b ',
      ' Sent 37844 bytes 572 pkt (dropped 3, overlimits 0 requeues 0) ',
      'class htb 1:20 root leaf 20: prio 0 rate 10Gbit ceil 10Gbit burst 0b cburst 0b ',
      ' Sent 0 bytes 0 pkt (dropped 59, overlimits 0 requeues 0) ',
    ].join('\n');
    expect(parseDropped(stats)).toBe(59);
    expect(parseDropped('')).toBe(0);
    const snmp = [
      'Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors',
      'Tcp: 1 200 120000 -1 0 1 0 0 0 566 1601 17 0 0 0',
    ].join('\n');
    expect(parseRetransmits(snmp)).toBe(17);
  });
});

describe('parseIptablesDropped', () => {
  it('sums the packets of the statistic DROP rules, nothing else', () => {
    const listing = [
      'Chain FORWARD (policy ACCEPT 9001 packets, 123456 bytes)',
      '    pkts      bytes target     prot opt in     out     source               destination',
      '      17    25160 DROP       0    --  *      *       0.0.0.0/0            0.0.0.0/0            statistic mode random probability 0.10000000009',
      '       4     5920 DROP       0    --  *      *       0.0.0.0/0            0.0.0.0/0            statistic mode random probability 0.05000000000',
      '     300    40000 ACCEPT     0    --  *      *       0.0.0.0/0            0.0.0.0/0',
    ].join('\n');
    expect(parseIptablesDropped(listing)).toBe(21);
    expect(parseIptablesDropped('Chain FORWARD (policy ACCEPT 0 packets, 0 bytes)\n')).toBe(0);
  });
});
