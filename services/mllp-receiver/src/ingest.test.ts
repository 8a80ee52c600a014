import { describe, expect, it } from 'vitest';
import type { QuarantineRecord, RawEnvelope } from '@ehrflow/contracts';
import { parseHl7 } from '@ehrflow/hl7';
import { seededRandom, syntheticBatch, syntheticMessage } from '@ehrflow/hl7-sim';
import { decryptPayload } from '@ehrflow/phi';
import { TEST_KEYRING, testIngest, waitFor } from './testing.ts';

const msg = (
  controlId: string,
  extra: Parameters<typeof syntheticMessage>[1] extends infer O ? Partial<O> : never = {},
) => syntheticMessage(seededRandom(controlId.length * 7 + 1), { controlId, ...extra });
const ackOf = (text: string | undefined) => parseHl7(text ?? '');

describe('ingest', () => {
  it('answers AA echoing MSH-10 only once the envelope is written, and the envelope holds the message encrypted', async () => {
    const t = testIngest();
    t.writer.hold = true;
    const message = msg('CTRL-1');
    let answered = false;
    const pending = t.ingest.take(Buffer.from(message), 'test').then((r) => {
      answered = true;
      return r;
    });
    await waitFor(() => t.writer.waiting() === 1);
    expect(answered).toBe(false);
    t.writer.release();
    const result = await pending;
    const ack = ackOf(result.replies[0]);
    expect([ack.value('MSA', 1), ack.value('MSA', 2)]).toEqual(['AA', 'CTRL-1']);
    const envelope = t.writer.written[0]?.value as RawEnvelope;
    expect(envelope).toMatchObject({
      format: 'HL7V2',
      kind: 'UPSERT',
      resourceType: expect.stringMatching(/^(ADT|ORU)\^/),
      sourceId: 'sim-feed',
    });
    expect(decryptPayload(TEST_KEYRING, Buffer.from(envelope.payload)).toString()).toBe(
      message.replace(/\r$/, ''),
    );
    expect(JSON.stringify(t.writer.written[0]?.key)).not.toContain('SIM');
  });

  it('a write that fails is answered AR with ERR 207 and not remembered, so the resend is written', async () => {
    const t = testIngest();
    t.writer.hold = true;
    const message = msg('CTRL-2');
    const pending = t.ingest.take(Buffer.from(message), 'test');
    await waitFor(() => t.writer.waiting() === 1);
    t.writer.fail(new Error('broker down'));
    const ack = ackOf((await pending).replies[0]);
    expect(ack.value('MSA', 1)).toBe('AR');
    expect(ack.value('ERR', 3)).toBe('207');
    expect(t.dedupe.keys.size).toBe(0);
    t.writer.hold = false;
    expect(ackOf((await t.ingest.take(Buffer.from(message), 'test')).replies[0]).value('MSA', 1)).toBe('AA');
    expect(t.writer.written).toHaveLength(1);
  });

  it('a resend is ACKed again without a second write', async () => {
    const t = testIngest();
    const message = msg('CTRL-3');
    await t.ingest.take(Buffer.from(message), 'test');
    const again = await t.ingest.take(Buffer.from(message), 'test');
    expect(again.outcome).toBe('duplicate');
    expect(ackOf(again.replies[0]).value('MSA', 2)).toBe('CTRL-3');
    expect(t.writer.written).toHaveLength(1);
    expect([...t.dedupe.keys][0]).not.toContain('CTRL-3');
  });

  it('enhanced mode: CA per MSH-15=AL, then an application ACK per MSH-16=AL; nothing for NE', async () => {
    const t = testIngest();
    const both = await t.ingest.take(
      Buffer.from(msg('E-1', { acceptAck: 'AL', applicationAck: 'AL' })),
      'test',
    );
    expect(both.replies.map((r) => ackOf(r).value('MSA', 1))).toEqual(['CA', 'AA']);
    const none = await t.ingest.take(
      Buffer.from(msg('E-2', { acceptAck: 'NE', applicationAck: 'NE' })),
      'test',
    );
    expect(none.replies).toEqual([]);
    expect(t.writer.written).toHaveLength(2);
  });

  it('a header without MSH-10 is AE with ERR at MSH-10 code 101; an unknown version AE with 203', async () => {
    const t = testIngest();
    const noId = await t.ingest.take(Buffer.from(msg('X').replace('|X|P|', '||P|')), 'test');
    const ack = ackOf(noId.replies[0]);
    expect(ack.value('MSA', 1)).toBe('AE');
    expect([ack.value('ERR', 2, 1), ack.value('ERR', 2, 3), ack.value('ERR', 3, 1)]).toEqual([
      'MSH',
      '10',
      '101',
    ]);
    const v3 = await t.ingest.take(Buffer.from(msg('Y').replace('|P|2.5.1', '|P|3.0')), 'test');
    expect(ackOf(v3.replies[0]).value('ERR', 3, 1)).toBe('203');
    const noMsh = await t.ingest.take(Buffer.from('PID|1||SECRET'), 'test');
    expect(ackOf(noMsh.replies[0]).value('MSA', 1)).toBe('AE');
    expect(t.writer.written).toHaveLength(0);
  });

  it('a whole batch is one atomic write, its messages deduplicated one by one', async () => {
    const t = testIngest();
    await t.ingest.take(Buffer.from(msg('B-1')), 'test');
    const batch = syntheticBatch(
      ['B-1', 'B-2', 'B-3'].map((id) => msg(id)),
      { batchId: 'BATCH-9', file: true },
    );
    const result = await t.ingest.take(Buffer.from(batch), 'test');
    expect(ackOf(result.replies[0]).value('MSA', 2)).toBe('BATCH-9');
    expect(ackOf(result.replies[0]).value('MSA', 1)).toBe('AA');
    expect(t.writer.atomic).toHaveLength(1);
    expect(t.writer.atomic[0]).toHaveLength(2);
  });

  it('a batch whose BTS-1 lies is quarantined whole (encrypted), alerted by sender and batch id, answered AE; nothing written', async () => {
    const t = testIngest();
    const batch = syntheticBatch(
      ['L-1', 'L-2'].map((id) => msg(id)),
      { batchId: 'LIES-1', declaredCount: 3, sendingApplication: 'LABSYS' },
    );
    const result = await t.ingest.take(Buffer.from(batch), 'test');
    const ack = ackOf(result.replies[0]);
    expect([
      ack.value('MSA', 1),
      ack.value('MSA', 2),
      ack.value('ERR', 2, 1),
      ack.value('ERR', 2, 3),
    ]).toEqual(['AE', 'LIES-1', 'BTS', '1']);
    expect(t.writer.written).toHaveLength(0);
    expect(t.writer.atomic).toHaveLength(0);
    const record = t.quarantined[0]?.value as QuarantineRecord;
    expect(record).toMatchObject({
      reason: 'contract_violation',
      fieldPath: 'BTS-1',
      sourceId: 'sim-feed',
      resourceType: 'HL7V2_BATCH',
    });
    expect(record.detail).toContain('declared 3, found 2');
    expect(decryptPayload(TEST_KEYRING, Buffer.from(record.payload)).toString()).toBe(batch);
    expect(t.alerts[0]).toMatchObject({
      sendingApplication: 'LABSYS',
      batchId: 'LIES-1',
      reason: 'batch_count_mismatch',
      position: 'BTS-1',
    });
  });

  it('a cut-off batch is quarantined whole as batch_incomplete', async () => {
    const t = testIngest();
    const batch = syntheticBatch(
      ['C-1', 'C-2'].map((id) => msg(id)),
      { batchId: 'CUT-1' },
    );
    await t.ingest.cutOff(Buffer.from(batch.slice(0, batch.length / 2)));
    expect(t.quarantined[0]?.value).toMatchObject({ reason: 'parse_error', fieldPath: 'BTS' });
    expect(t.alerts[0]).toMatchObject({ batchId: 'CUT-1', reason: 'batch_incomplete' });
  });

  it('no log line carries a value from a message', async () => {
    const t = testIngest();
    const message = msg('P-1');
    const family = parseHl7(message).value('PID', 5);
    t.writer.hold = true;
    const pending = t.ingest.take(Buffer.from(message), 'test');
    await waitFor(() => t.writer.waiting() === 1);
    t.writer.fail(new Error('failure'));
    await pending;
    await t.ingest.take(Buffer.from(syntheticBatch([message], { batchId: 'X', declaredCount: 4 })), 'test');
    expect(t.logs()).not.toContain(family);
    expect(t.logs()).toContain('sender resends');
  });
});
