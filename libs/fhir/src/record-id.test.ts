import { describe, expect, it } from 'vitest';
import { recordIdOf, versionKeyOf } from './record-id.ts';

describe('recordIdOf', () => {
  it('is the first 32 hex chars of SHA-256 over the NUL-joined parts (vector from Python hashlib)', () => {
    expect(recordIdOf('source-a', 'Patient', 'fake-pat-001', '3')).toBe('eee7b717053a4e18e295e76217ec7c17');
  });

  it('is deterministic and changes with every part', () => {
    const id = recordIdOf('source-a', 'Patient', 'fake-pat-001', '3');
    expect(recordIdOf('source-a', 'Patient', 'fake-pat-001', '3')).toBe(id);
    const others = [
      recordIdOf('source-b', 'Patient', 'fake-pat-001', '3'),
      recordIdOf('source-a', 'Encounter', 'fake-pat-001', '3'),
      recordIdOf('source-a', 'Patient', 'fake-pat-002', '3'),
      recordIdOf('source-a', 'Patient', 'fake-pat-001', '4'),
      recordIdOf('source-a', 'Patient', 'fake-pat-001', ''),
    ];
    expect(new Set([id, ...others]).size).toBe(6);
    for (const other of others) expect(other).toMatch(/^[0-9a-f]{32}$/);
  });

  it('refuses parts that would make different inputs collide', () => {
    expect(() => recordIdOf('a\u0000b', 'Patient', 'x', '1')).toThrow(
      expect.objectContaining({ code: 'CONTRACT_VIOLATION' }),
    );
    expect(() => recordIdOf('source-a', 'Patient', '', '1')).toThrow(/logicalId is empty/);
  });
});

describe('versionKeyOf', () => {
  it('prefers meta.versionId, then meta.lastUpdated, then empty', () => {
    expect(versionKeyOf({ meta: { versionId: '7', lastUpdated: '2024-01-01T00:00:00Z' } })).toBe('7');
    expect(versionKeyOf({ meta: { lastUpdated: '2024-01-01T00:00:00Z' } })).toBe('2024-01-01T00:00:00Z');
    expect(versionKeyOf({ meta: 'broken' })).toBe('');
    expect(versionKeyOf({})).toBe('');
  });
});
