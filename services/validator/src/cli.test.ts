import { describe, expect, it } from 'vitest';
import { parseReplayArgs } from './cli.ts';

describe('replay arguments', () => {
  it('parses each source', () => {
    expect(parseReplayArgs(['--from-quarantine'])).toEqual({ kind: 'quarantine' });
    expect(parseReplayArgs(['--from-quarantine', '--reason', 'missing_required'])).toEqual({
      kind: 'quarantine',
      reason: 'missing_required',
    });
    expect(parseReplayArgs(['--raw-from-offset', '2:1200'])).toEqual({
      kind: 'raw-offset',
      partition: 2,
      offset: '1200',
    });
    expect(parseReplayArgs(['--raw-from-time', '2024-05-01T00:00:00Z'])).toEqual({
      kind: 'raw-time',
      since: new Date('2024-05-01T00:00:00Z'),
    });
    expect(parseReplayArgs(['--help'])).toBe('help');
  });

  it.each([
    [[], 'exactly one'],
    [['--from-quarantine', '--raw-from-offset', '0:1'], 'exactly one'],
    [['--from-quarantine', '--reason', 'nope'], 'unknown reason'],
    [['--raw-from-offset', '0-1'], 'P:O'],
    [['--raw-from-time', 'yesterday'], 'ISO'],
    [['--raw-from-offset', '0:1', '--reason', 'parse_error'], '--reason applies'],
  ])('refuses %j', (args, message) => {
    const out = parseReplayArgs(args);
    expect(out).toMatchObject({ error: expect.stringContaining(message) as string });
  });
});
