import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { QuarantineRecord, RawEnvelope } from '@ehrflow/contracts';
import type { OutgoingMessage } from '@ehrflow/kafka';
import { createLogger } from '@ehrflow/logging';
import { createKeyring, decryptPayload } from '@ehrflow/phi';
import { ODD_DELIMITERS, syntheticInterchange, type InterchangeOptions } from '@ehrflow/x12-sim';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decryptCopy } from './files.ts';
import { takeFile, type JobDeps } from './job.ts';
import type { ProgressStore } from './progress.ts';

const keyring = createKeyring([['k1', randomBytes(32)]]);

/** An in-memory progress store with the Redis store's semantics. */
function memoryStore(): ProgressStore & { files: Map<string, string> } {
  const files = new Map<string, string>();
  const sets = new Set<string>();
  const ix = new Set<string>();
  let ack = 0;
  return {
    files,
    progress: (k) => {
      const v = files.get(k);
      if (v === undefined) return Promise.resolve(undefined);
      const [n, flag] = v.split(':');
      return Promise.resolve({ next: Number(n), complete: flag === 'done' });
    },
    seen: (ds) => Promise.resolve(ds.map((d) => sets.has(d))),
    commit: (k, next, ds, complete) => {
      for (const d of ds) sets.add(d);
      files.set(k, complete ? `${next}:done` : String(next));
      return Promise.resolve();
    },
    interchangeSeen: (d) => Promise.resolve(ix.has(d)),
    markInterchange: (d) => {
      ix.add(d);
      return Promise.resolve();
    },
    nextAckControl: () => Promise.resolve(++ack),
  };
}

let dir: string;
let lines: string[];
let written: OutgoingMessage[];
let quarantined: OutgoingMessage[];
let store: ReturnType<typeof memoryStore>;
let failAfterBatches: number;

function deps(over: Partial<JobDeps> = {}): JobDeps {
  return {
    envelopes: { sourceId: 'sim-clearing', keyring, pseudonymKey: Buffer.alloc(32, 7) },
    store,
    writeSets: (messages) => {
      if (failAfterBatches === 0) return Promise.reject(new Error('broker unavailable'));
      failAfterBatches -= 1;
      written.push(...messages);
      return Promise.resolve();
    },
    quarantine: (m) => {
      quarantined.push(m);
      return Promise.resolve();
    },
    logger: createLogger({
      name: 'billing-test',
      level: 'debug',
      destination: { write: (l: string) => void lines.push(l) },
    }),
    inboxDir: join(dir, 'in'),
    outboxDir: join(dir, 'out'),
    party: { qualifier: 'ZZ', id: 'EHRFLOW', applicationCode: 'EHRFLOW' },
    maxFileBytes: 10 * 1024 * 1024,
    maxSegmentBytes: 64 * 1024,
    batchSets: 2,
    ...over,
  };
}

const base: InterchangeOptions = {
  seed: 5,
  controlNumber: 900,
  groups: [
    { kind: '837P', sets: 3, claimsPerSet: 2 },
    { kind: '837I', sets: 2 },
    { kind: '835', sets: 2 },
  ],
};

async function drop(name: string, o: Partial<InterchangeOptions> = {}) {
  const file = syntheticInterchange({ ...base, ...o });
  await writeFile(join(dir, 'in', name), file.bytes);
  return file;
}

const rawOf = (m: OutgoingMessage) => m.value as RawEnvelope;
const ls = (sub: string) => readdir(join(dir, sub)).catch(() => [] as string[]);

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'x12-job-'));
  await rm(join(dir, 'in'), { recursive: true, force: true });
  await import('node:fs/promises').then((fs) => fs.mkdir(join(dir, 'in')));
  lines = [];
  written = [];
  quarantined = [];
  store = memoryStore();
  failAfterBatches = Number.POSITIVE_INFINITY;
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('takeFile', () => {
  it('writes each transaction set once, encrypted, self-contained, then moves the file and writes TA1 and 999', async () => {
    const file = await drop('a.x12');
    const result = await takeFile(deps(), 'a.x12');
    expect(result).toMatchObject({ outcome: 'accepted', sets: 7, written: 7, duplicates: 0 });
    expect(written.map((m) => rawOf(m).resourceType)).toEqual([
      '837P',
      '837P',
      '837P',
      '837I',
      '837I',
      '835',
      '835',
    ]);
    expect(new Set(written.map((m) => rawOf(m).recordId)).size).toBe(7);
    const first = decryptPayload(keyring, rawOf(written[0] as OutgoingMessage).payload).toString('latin1');
    expect(first.startsWith('ISA*')).toBe(true);
    expect(first).toMatch(/GS\*HC\*[^~]*~\s*ST\*837\*0001\*/);
    expect(first.trimEnd().endsWith('*0001~')).toBe(true);
    expect(rawOf(written[0] as OutgoingMessage).format).toBe('X12');
    expect(await ls('in')).toEqual(['done']);
    expect(await ls('in/done')).toEqual(['a.x12']);
    const out = (await ls('out')).sort();
    expect(out).toEqual([
      '000000900-' + out[0]?.slice(10, 22) + '.999',
      '000000900-' + out[0]?.slice(10, 22) + '.ta1',
    ]);
    const ack999 = await readFile(join(dir, 'out', out[0] as string), 'latin1');
    expect(ack999.match(/AK9\*A/g)).toHaveLength(3);
    for (const set of file.sets) for (const c of set.claims) expect(lines.join('')).not.toContain(c.memberId);
  });

  it.each(['cut', 'se-count', 'ge-count', 'iea-count', 'se-control'] as const)(
    'refuses a file with fault %s whole: nothing written, encrypted copy and reason, acknowledgment, plaintext gone',
    async (fault) => {
      const file = await drop('bad.x12', { fault });
      const result = await takeFile(deps(), 'bad.x12');
      expect(result.outcome).toBe('rejected');
      expect(written).toHaveLength(0);
      expect(await ls('in')).toEqual(['quarantine']);
      const q = (await ls('in/quarantine')).sort();
      expect(q).toHaveLength(2);
      const copy = await readFile(join(dir, 'in/quarantine', q.find((n) => n.endsWith('.enc')) as string));
      expect(decryptCopy(copy, (s) => decryptPayload(keyring, s)).equals(file.bytes)).toBe(true);
      const reason = JSON.parse(
        await readFile(join(dir, 'in/quarantine', q.find((n) => n.endsWith('.json')) as string), 'utf8'),
      );
      expect(reason.reason).toBe(result.reason);
      const record = quarantined[0]?.value as QuarantineRecord;
      expect(record.detail).toContain(result.reason);
      expect(decryptPayload(keyring, record.payload).equals(file.bytes)).toBe(true);
      const acks = await ls('out');
      expect(acks.some((n) => n.endsWith('.ta1'))).toBe(true);
      const all = (await Promise.all(acks.map((n) => readFile(join(dir, 'out', n), 'latin1')))).join('');
      expect(all).toMatch(/TA1\*[^~]*\*R\*0\d\d~|AK9\*R/);
      for (const set of file.sets)
        for (const c of set.claims) {
          expect(lines.join('') + all + (record.detail ?? '')).not.toContain(c.claimId);
        }
    },
  );

  it('resumes after a failed batch at its checkpoint: nothing lost, nothing written twice', async () => {
    await drop('a.x12');
    failAfterBatches = 2;
    await expect(takeFile(deps(), 'a.x12')).rejects.toThrow('broker unavailable');
    expect(written).toHaveLength(4);
    expect(await ls('in')).toEqual(['a.x12']);
    failAfterBatches = Number.POSITIVE_INFINITY;
    const result = await takeFile(deps(), 'a.x12');
    expect(result).toMatchObject({ outcome: 'accepted', written: 3 });
    const ids = written.map((m) => rawOf(m).recordId);
    expect(ids).toHaveLength(7);
    expect(new Set(ids).size).toBe(7);
  });

  it('a crash between the Kafka commit and its checkpoint writes that batch again under the same record ids and keys', async () => {
    await drop('w.x12');
    // The second batch reaches Kafka, then the process dies before the checkpoint is written.
    const real = store.commit.bind(store);
    let commits = 0;
    store.commit = (...args) => {
      commits += 1;
      return commits === 2 ? Promise.reject(new Error('killed')) : real(...args);
    };
    await expect(takeFile(deps(), 'w.x12')).rejects.toThrow('killed');
    expect(written).toHaveLength(4);
    const beforeCrash = written.map((m) => `${rawOf(m).recordId}/${String(m.key)}`);
    store.commit = real;
    const result = await takeFile(deps(), 'w.x12');
    expect(result).toMatchObject({ outcome: 'accepted', sets: 7, written: 5 });
    // The batch in the window (sets 3-4) is on the topic twice: same ids and partition keys, so
    // downstream (the validator's derived ids, the loader's upsert and ledger) sees one set.
    const all = written.map((m) => `${rawOf(m).recordId}/${String(m.key)}`);
    expect(all).toHaveLength(9);
    expect(all.slice(4, 6)).toEqual(beforeCrash.slice(2, 4));
    expect(new Set(all).size).toBe(7);
  });

  it('stops between batches when draining and resumes from there', async () => {
    await drop('a.x12');
    let batches = 0;
    const draining = deps({
      writeSets: (m) => {
        batches += 1;
        written.push(...m);
        return Promise.resolve();
      },
      stopping: () => batches >= 1,
    });
    expect((await takeFile(draining, 'a.x12')).outcome).toBe('stopped');
    expect(written).toHaveLength(2);
    expect((await takeFile(deps(), 'a.x12')).written).toBe(5);
    expect(new Set(written.map((m) => rawOf(m).recordId)).size).toBe(7);
  });

  it('recognises a duplicate interchange (same sender and ISA13) and a resent file, writing nothing again', async () => {
    await drop('a.x12');
    await takeFile(deps(), 'a.x12');
    await drop('a-again.x12');
    expect(await takeFile(deps(), 'a-again.x12')).toMatchObject({ outcome: 'duplicate', written: 0 });
    // Another file, same interchange control number, different content: still a duplicate interchange.
    await drop('b.x12', { seed: 99 });
    expect(await takeFile(deps(), 'b.x12')).toMatchObject({ outcome: 'duplicate', written: 0 });
    expect(written).toHaveLength(7);
    const ta1s = (await ls('out')).filter((n) => n.endsWith('.ta1'));
    const texts = await Promise.all(ta1s.map((n) => readFile(join(dir, 'out', n), 'latin1')));
    expect(texts.filter((t) => t.includes('*E*025~'))).toHaveLength(2);
  });

  it('takes odd delimiters (pipes, newline terminator) like the usual ones', async () => {
    await drop('odd.edi', { delimiters: ODD_DELIMITERS, controlNumber: 901 });
    expect(await takeFile(deps(), 'odd.edi')).toMatchObject({ outcome: 'accepted', written: 7 });
  });

  it('refuses a file above the size limit without reading it as X12', async () => {
    await drop('big.x12');
    const result = await takeFile(deps({ maxFileBytes: 100 }), 'big.x12');
    expect(result.outcome).toBe('rejected');
    expect(result.reason).toMatch(/^too_large: \d+ bytes, limit 100$/);
  });
});
