import { describe, expect, it } from 'vitest';
import {
  carriedOver,
  commitFile,
  errorEntriesOf,
  failedTypes,
  restartFile,
  commitPage,
  isComplete,
  laterInstant,
  progressForTypes,
  progressFromManifest,
  reconciles,
  tooLargeOf,
  totalsOf,
} from './checkpoint.ts';

const manifest = {
  transactionTime: '2025-01-01T00:00:00Z',
  requiresAccessToken: true,
  files: [
    { role: 'output' as const, type: 'Patient', url: 'http://x/f1' },
    { role: 'error' as const, type: 'OperationOutcome', url: 'http://x/f2' },
  ],
};

describe('backfill checkpoints', () => {
  it('advances positions and adds counts per file; complete only when every file is done', () => {
    let p = progressFromManifest(manifest);
    expect(isComplete(p)).toBe(false);
    p = commitFile(p, 0, { byteOffset: 1200, lineNo: 3 }, { read: 2, produced: 2 });
    p = commitFile(p, 0, { byteOffset: 2400, lineNo: 5 }, { read: 2, produced: 1, errors: 1 });
    expect(p.files[0]?.position).toEqual({ byteOffset: 2400, lineNo: 5 });
    p = commitFile(p, 0, 'done', { read: 1, produced: 1 });
    expect(p.files[0]?.done).toBe(true);
    expect(p.files[0]?.position).toEqual({ byteOffset: 2400, lineNo: 5 });
    expect(isComplete(p)).toBe(false);
    p = commitFile(p, 1, 'done', { read: 2, errors: 2 });
    expect(isComplete(p)).toBe(true);
    const totals = totalsOf(p);
    expect(totals).toEqual({ read: 7, produced: 4, deleted: 0, errors: 3, duplicates: 0 });
    expect(reconciles(totals)).toBe(true);
  });

  it('refuses to move a position backwards or to commit a finished file', () => {
    const p = commitFile(progressFromManifest(manifest), 0, { byteOffset: 100, lineNo: 4 }, {});
    expect(() => commitFile(p, 0, { byteOffset: 50, lineNo: 2 }, {})).toThrow(RangeError);
    const done = commitFile(p, 0, 'done', {});
    expect(() => commitFile(done, 0, 'done', {})).toThrow(RangeError);
    expect(() => commitFile(p, 7, 'done', {})).toThrow(RangeError);
  });

  it('does not reconcile when a record is unaccounted for', () => {
    expect(reconciles({ read: 5, produced: 3, deleted: 1, errors: 0, duplicates: 0 })).toBe(false);
    // A source line naming a resource already read is accounted for as a duplicate.
    expect(reconciles({ read: 5, produced: 3, deleted: 1, errors: 0, duplicates: 1 })).toBe(true);
    expect(isComplete(undefined)).toBe(false);
  });
});

describe('error entries, refetches and export restarts', () => {
  const three = {
    transactionTime: '2025-01-01T00:00:00Z',
    requiresAccessToken: true,
    files: [
      { role: 'output' as const, type: 'Patient', url: 'http://x/p1', count: 2 },
      { role: 'output' as const, type: 'Observation', url: 'http://x/o1', count: 3 },
      { role: 'error' as const, type: 'OperationOutcome', url: 'http://x/e1', count: 1 },
    ],
  };

  it('sums error entries per type and code, and retries only the types they name', () => {
    let p = progressFromManifest(three);
    p = commitFile(
      p,
      2,
      'done',
      { read: 1, errors: 1 },
      {
        lines: 1,
        errorEntries: { byType: { Observation: 1 }, issueCodes: { exception: 1 } },
      },
    );
    expect(errorEntriesOf(p)).toEqual({ byType: { Observation: 1 }, issueCodes: { exception: 1 } });
    expect(failedTypes(p, ['Patient', 'Observation'])).toEqual(['Observation']);
    // An entry tied to no type: every type is exported again.
    const unknown = commitFile(
      progressFromManifest(three),
      2,
      'done',
      {},
      { errorEntries: { byType: { unknown: 1 }, issueCodes: {} } },
    );
    expect(failedTypes(unknown, ['Patient', 'Observation'])).toEqual(['Patient', 'Observation']);
  });

  it('counts resources too large for the raw topic per type, retries their types, and forgets them on a refetch', () => {
    let p = progressFromManifest(three);
    expect(tooLargeOf(p)).toEqual({});
    p = commitFile(p, 1, { byteOffset: 10, lineNo: 2 }, { read: 1, errors: 1 }, { lines: 1, tooLarge: 1 });
    p = commitFile(p, 1, 'done', { read: 2, produced: 1, errors: 1 }, { lines: 2, tooLarge: 1 });
    p = commitFile(p, 0, 'done', { read: 2, produced: 2 }, { lines: 2, tooLarge: 0 });
    expect(tooLargeOf(p)).toEqual({ Observation: 2 });
    expect(p.files[0]?.tooLarge).toBeUndefined();
    expect(failedTypes(p, ['Patient', 'Observation'])).toEqual(['Observation']);
    // Read again from its start, the file's resources are counted again.
    expect(tooLargeOf(restartFile(p, 1))).toEqual({});

    let q = progressForTypes(['Patient', 'Encounter']);
    q = commitPage(q, 'Encounter', 'http://x/next', undefined, { read: 3, produced: 2, errors: 1 }, 1);
    q = commitPage(q, 'Encounter', undefined, undefined, { read: 1, errors: 1 }, 1);
    q = commitPage(q, 'Patient', undefined, undefined, { read: 1, produced: 1 });
    expect(tooLargeOf(q)).toEqual({ Encounter: 2 });
    expect(failedTypes(q, ['Patient', 'Encounter'])).toEqual(['Encounter']);
  });

  it('reads a file again from zero: counts, lines and position reset, one more refetch', () => {
    let p = commitFile(
      progressFromManifest(three),
      1,
      { byteOffset: 90, lineNo: 3 },
      { read: 2, produced: 2 },
      { lines: 2 },
    );
    p = restartFile(p, 1);
    expect(p.files[1]).toMatchObject({
      position: { byteOffset: 0, lineNo: 1 },
      lines: 0,
      refetches: 1,
      done: false,
    });
    expect(totalsOf(p).read).toBe(0);
  });

  it('carries over the files of completely read types without error entries when the export restarts', () => {
    let p = progressFromManifest(three);
    p = commitFile(p, 0, 'done', { read: 2, produced: 2 }, { lines: 2 });
    p = commitFile(p, 1, { byteOffset: 10, lineNo: 2 }, { read: 1, produced: 1 }, { lines: 1 });
    const { kept, keptTypes } = carriedOver(p, undefined);
    expect([...keptTypes]).toEqual(['Patient']);
    expect(kept.map((f) => f.url)).toEqual(['http://x/p1']);
    // A _since export lists deletions in files that name no type: nothing is kept.
    expect(carriedOver(p, '2024-01-01T00:00:00Z').kept).toEqual([]);
  });
});

describe('incremental checkpoints', () => {
  it('keeps the next link and the newest lastUpdated; a type is done after its last page', () => {
    let p = progressForTypes(['Patient', 'Observation']);
    p = commitPage(p, 'Patient', 'http://x/next1', '2024-05-01T00:00:00Z', { read: 2, produced: 2 });
    p = commitPage(p, 'Patient', undefined, '2024-03-01T00:00:00Z', { read: 1, produced: 1 });
    const patient = p.types[0];
    expect(patient).toMatchObject({ next: undefined, pages: 2, maxSeen: '2024-05-01T00:00:00Z', done: true });
    expect(isComplete(p)).toBe(false);
    p = commitPage(p, 'Observation', undefined, undefined, {});
    expect(isComplete(p)).toBe(true);
    expect(totalsOf(p)).toEqual({ read: 3, produced: 3, deleted: 0, errors: 0, duplicates: 0 });
  });

  it('compares instants as times, not strings', () => {
    expect(laterInstant('2024-05-01T10:00:00+02:00', '2024-05-01T09:00:00Z')).toBe('2024-05-01T09:00:00Z');
    expect(laterInstant(undefined, '2024-01-01T00:00:00Z')).toBe('2024-01-01T00:00:00Z');
    expect(laterInstant('2024-01-01T00:00:00Z', 'garbage')).toBe('2024-01-01T00:00:00Z');
  });
});
