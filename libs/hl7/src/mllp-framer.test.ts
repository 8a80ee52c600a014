import { describe, expect, it } from 'vitest';
import { MllpFramer, frameMllp } from './mllp-framer.ts';

const text = (frames: Buffer[]) => frames.map((f) => f.toString('utf8'));

describe('MllpFramer', () => {
  it('splits back-to-back blocks and blocks split across chunks at every byte', () => {
    const stream = Buffer.concat([frameMllp('MSH|a'), frameMllp('MSH|bb'), frameMllp('MSH|ccc')]);
    for (let cut = 1; cut < stream.length; cut += 1) {
      const framer = new MllpFramer(1024);
      const out = [
        ...framer.push(stream.subarray(0, cut)).frames,
        ...framer.push(stream.subarray(cut)).frames,
      ];
      expect(text(out)).toEqual(['MSH|a', 'MSH|bb', 'MSH|ccc']);
      expect(framer.inFrame).toBe(false);
    }
  });

  it('skips noise between blocks and counts it', () => {
    const framer = new MllpFramer(1024);
    const out = framer.push(Buffer.concat([Buffer.from('junk'), frameMllp('MSH|x'), Buffer.from('\r\n')]));
    expect(text(out.frames)).toEqual(['MSH|x']);
    expect(out.skippedBytes).toBe(6);
  });

  it('keeps an FS that is not followed by CR as data', () => {
    const framer = new MllpFramer(1024);
    const out = framer.push(Buffer.from([0x0b, 0x41, 0x1c, 0x42, 0x1c, 0x0d]));
    expect(out.frames.map((f) => [...f])).toEqual([[0x41, 0x1c, 0x42]]);
  });

  it('drops a block cut off by a new start block', () => {
    const framer = new MllpFramer(1024);
    const out = framer.push(
      Buffer.concat([Buffer.from([0x0b]), Buffer.from('MSH|half'), frameMllp('MSH|whole')]),
    );
    expect(text(out.frames)).toEqual(['MSH|whole']);
  });

  it('reports an open block and hands its bytes over', () => {
    const framer = new MllpFramer(1024);
    framer.push(Buffer.concat([Buffer.from([0x0b]), Buffer.from('BHS|^~\\&|A')]));
    expect(framer.inFrame).toBe(true);
    expect(framer.takePartial().toString()).toBe('BHS|^~\\&|A');
    expect(framer.inFrame).toBe(false);
  });

  it('refuses a block past the size limit with TOO_LARGE and no content in the error', () => {
    const framer = new MllpFramer(16);
    expect(() =>
      framer.push(Buffer.concat([Buffer.from([0x0b]), Buffer.from('PID|SECRETNAME-0123456789')])),
    ).toThrow(
      expect.objectContaining({ code: 'TOO_LARGE', message: expect.not.stringContaining('SECRETNAME') }),
    );
    expect(framer.inFrame).toBe(false);
  });
});
