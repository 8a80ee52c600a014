import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { seededRandom, syntheticBatch, syntheticMessage } from '@ehrflow/hl7-sim';
import { createFileDrop } from './file-drop.ts';
import { testIngest, waitFor } from './testing.ts';

const msgs = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => syntheticMessage(seededRandom(i + 1), { controlId: `${prefix}-${i}` }));

describe('file drop', () => {
  it('writes a good batch file whole and moves it to done/, quarantines a lying one into rejected/, ignores files still being written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hl7-drop-'));
    writeFileSync(join(dir, 'a.hl7'), syntheticBatch(msgs('A', 3), { batchId: 'FA', file: true }));
    writeFileSync(
      join(dir, 'b.hl7'),
      syntheticBatch(msgs('B', 2), { batchId: 'FB', declaredCount: 5, file: true }),
    );
    writeFileSync(join(dir, 'c.tmp'), 'FHS|^~\\&|partial');
    const t = testIngest();
    const drop = createFileDrop({ dir, ingest: t.ingest, logger: t.logger, pollMs: 1000, maxBytes: 1 << 20 });
    expect(await drop.scan()).toBe(2);
    expect(t.writer.atomic).toHaveLength(1);
    expect(t.writer.atomic[0]).toHaveLength(3);
    expect(t.quarantined).toHaveLength(1);
    expect(t.alerts[0]).toMatchObject({ batchId: 'FB', reason: 'batch_count_mismatch' });
    expect([
      existsSync(join(dir, 'done', 'a.hl7')),
      existsSync(join(dir, 'rejected', 'b.hl7')),
      existsSync(join(dir, 'c.tmp')),
    ]).toEqual([true, true, true]);
  });

  it('leaves a file in place when the write fails, and takes it in on the next scan without duplicates (resume)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hl7-drop-'));
    writeFileSync(join(dir, 'r.hl7'), syntheticBatch(msgs('R', 2), { batchId: 'FR', file: true }));
    const t = testIngest();
    t.writer.hold = true;
    const drop = createFileDrop({ dir, ingest: t.ingest, logger: t.logger, pollMs: 1000, maxBytes: 1 << 20 });
    const first = drop.scan();
    await waitFor(() => t.writer.waiting() === 1);
    t.writer.fail(new Error('broker down'));
    await first;
    expect(existsSync(join(dir, 'r.hl7'))).toBe(true);
    t.writer.hold = false;
    await drop.scan();
    expect(existsSync(join(dir, 'done', 'r.hl7'))).toBe(true);
    expect(t.writer.atomic.flat()).toHaveLength(2);
  });
});
