import { PipelineError } from '@ehrflow/errors';
import { describe, expect, it } from 'vitest';
import {
  continueFrom,
  resumeHeaders,
  splitNdjson,
  validatorOf,
  type NdjsonLine,
  type SplitOptions,
} from './ndjson.ts';

async function* chunksOf(...parts: (string | Uint8Array | Error)[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) {
    await Promise.resolve();
    if (part instanceof Error) throw part;
    yield typeof part === 'string' ? Buffer.from(part) : part;
  }
}

async function collect(
  source: AsyncIterable<Uint8Array>,
  options?: SplitOptions,
): Promise<{ lines: NdjsonLine[]; error?: unknown }> {
  const lines: NdjsonLine[] = [];
  try {
    for await (const line of splitNdjson(source, options)) lines.push(line);
    return { lines };
  } catch (error) {
    return { lines, error };
  }
}

describe('splitNdjson', () => {
  it('yields lines across chunk boundaries with line numbers and byte offsets', async () => {
    const { lines, error } = await collect(chunksOf('{"a":1}\n{"b"', ':2}\r\n\n{"c":"é"}\n'));
    expect(error).toBeUndefined();
    expect(lines).toEqual([
      { line: '{"a":1}', lineNo: 1, byteOffset: 0, next: { byteOffset: 8, lineNo: 2 } },
      // CRLF: the CR is not part of the line, but it is part of the bytes before the next one
      { line: '{"b":2}', lineNo: 2, byteOffset: 8, next: { byteOffset: 17, lineNo: 3 } },
      // line 3 is blank: counted, not yielded; "é" is two bytes
      { line: '{"c":"é"}', lineNo: 4, byteOffset: 18, next: { byteOffset: 29, lineNo: 5 } },
    ]);
  });

  it('keeps a multi-byte character split between chunks intact', async () => {
    const bytes = Buffer.from('{"n":"Zoë"}\n');
    const split = bytes.indexOf(0xc3) + 1;
    const { lines } = await collect(chunksOf(bytes.subarray(0, split), bytes.subarray(split)));
    expect(lines.map((l) => l.line)).toEqual(['{"n":"Zoë"}']);
  });

  it('accepts a final line without newline when it is complete JSON', async () => {
    const { lines, error } = await collect(chunksOf('{"a":1}\n{"b":2}'));
    expect(error).toBeUndefined();
    expect(lines.map((l) => l.line)).toEqual(['{"a":1}', '{"b":2}']);
  });

  it('detects a truncated final line and reports where to resume', async () => {
    const { lines, error } = await collect(chunksOf('{"a":1}\n{"b":2}\n{"c":', '3, "d"'));
    expect(lines).toHaveLength(2);
    expect(error).toBeInstanceOf(PipelineError);
    expect((error as PipelineError).code).toBe('HTTP_TRANSIENT');
    expect((error as PipelineError).context).toMatchObject({ resumeOffset: 16, resumeLineNo: 3 });
    expect((error as PipelineError).message).not.toContain('"c"');
  });

  it('turns a failure mid-body into HTTP_TRANSIENT with the resume position', async () => {
    const reset = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    const { lines, error } = await collect(chunksOf('{"a":1}\n{"b":', reset), { context: { route: '/x' } });
    expect(lines).toHaveLength(1);
    expect((error as PipelineError).code).toBe('HTTP_TRANSIENT');
    expect((error as PipelineError).cause).toBe(reset);
    expect((error as PipelineError).context).toMatchObject({ route: '/x', resumeOffset: 8, resumeLineNo: 2 });
  });

  it('continues numbering from a resume position', async () => {
    const { lines } = await collect(chunksOf('{"c":3}\n'), { start: { byteOffset: 16, lineNo: 3 } });
    expect(lines).toEqual([
      { line: '{"c":3}', lineNo: 3, byteOffset: 16, next: { byteOffset: 24, lineNo: 4 } },
    ]);
  });

  it('refuses a line above the size limit instead of buffering it', async () => {
    const { error } = await collect(chunksOf('{"a":1}\n', 'x'.repeat(40), 'y'.repeat(40)), {
      maxLineBytes: 64,
    });
    expect((error as PipelineError).code).toBe('TOO_LARGE');
    expect((error as PipelineError).context).toMatchObject({ lineNo: 2, byteOffset: 8 });
  });

  it('rethrows the abort reason when the signal aborted', async () => {
    const controller = new AbortController();
    const reason = new Error('cancelled');
    controller.abort(reason);
    const { error } = await collect(chunksOf('{"a":1}\n', new Error('aborted socket')), {
      signal: controller.signal,
    });
    expect(error).toBe(reason);
  });

  it('strips a byte order mark at the start of the file', async () => {
    const { lines } = await collect(chunksOf('\uFEFF{"a":1}\n'));
    expect(lines[0]?.line).toBe('{"a":1}');
  });
});

describe('verified resume', () => {
  const pos = { byteOffset: 8, lineNo: 2 };

  it('asks for one byte before the offset, with If-Range only when there is a validator', () => {
    expect(resumeHeaders(pos)).toEqual({ range: 'bytes=7-' });
    expect(resumeHeaders({ ...pos, validator: '"v1"' })).toEqual({ range: 'bytes=7-', 'if-range': '"v1"' });
    expect(resumeHeaders({ byteOffset: 0, lineNo: 1 })).toEqual({});
  });

  it('takes a strong ETag, else a Last-Modified date, never a weak ETag', () => {
    expect(validatorOf({ etag: '"abc"', 'last-modified': 'Tue, 01 Jul 2025 00:00:00 GMT' })).toBe('"abc"');
    expect(validatorOf({ etag: 'W/"abc"', 'last-modified': 'Tue, 01 Jul 2025 00:00:00 GMT' })).toBe(
      'Tue, 01 Jul 2025 00:00:00 GMT',
    );
    expect(validatorOf({ etag: 'W/"abc"' })).toBeUndefined();
  });

  it('continues after the newline of a verified 206, and refuses a byte that is not a newline', async () => {
    const ok = await continueFrom(
      206,
      { 'content-range': 'bytes 7-22/23' },
      chunksOf('\n{"b":2}\n', '{"c":3}\n'),
      pos,
    );
    const { lines } = await collect(ok?.chunks ?? chunksOf(), ok?.split);
    expect(lines.map((l) => [l.lineNo, l.byteOffset, l.line])).toEqual([
      [2, 8, '{"b":2}'],
      [3, 16, '{"c":3}'],
    ]);
    // The bytes moved: byte 7 is now inside a line, and the range would start mid-line.
    expect(
      await continueFrom(206, { 'content-range': 'bytes 7-30/31' }, chunksOf('":1}\n{"b":2}\n'), pos),
    ).toBeUndefined();
    // A range elsewhere than asked for is not trusted either.
    expect(
      await continueFrom(206, { 'content-range': 'bytes 8-30/31' }, chunksOf('{"b":2}\n'), pos),
    ).toBeUndefined();
  });

  it('skips by line count when the server sends the whole file (200), and says when it is too short', async () => {
    const whole = await continueFrom(200, { etag: '"v2"' }, chunksOf('{"a":10}\n{"b":20}\n{"c":30}\n'), pos);
    const { lines } = await collect(whole?.chunks ?? chunksOf(), whole?.split);
    expect(lines.map((l) => [l.lineNo, l.byteOffset, l.next.validator])).toEqual([
      [2, 9, '"v2"'],
      [3, 18, '"v2"'],
    ]);
    const short = await collect(chunksOf('{"a":10}\n'), { skipBeforeLine: 4 });
    expect(short.lines).toEqual([]);
    expect((short.error as PipelineError).code).toBe('HTTP_TRANSIENT');
  });
});
