import { PipelineError, type ErrorContext } from '@ehrflow/errors';

/** One NDJSON line, without its line ending, and where it sits in the whole file. */
export interface NdjsonLine {
  readonly line: string;
  /** 1-based line number in the file. */
  readonly lineNo: number;
  /** Byte offset of the first byte of the line in the file. */
  readonly byteOffset: number;
  /** Where the line after this one starts: the position to resume from once this line is kept. */
  readonly next: NdjsonPosition;
}

/** Where reading starts (or resumes): the byte offset and number of the next line. */
export interface NdjsonPosition {
  readonly byteOffset: number;
  readonly lineNo: number;
  /**
   * The strong validator (ETag, else Last-Modified) of the response the offset was counted in;
   * a resume sends it as `If-Range`, so a changed file comes back whole instead of as a range.
   */
  readonly validator?: string;
}

export interface SplitOptions {
  /** Position of the first byte of `chunks` in the file. Default: start of the file. */
  readonly start?: NdjsonPosition;
  /**
   * Lines before this number are read and counted but not yielded: a resume that had to fetch the
   * file from its start skips what it already has by line count. Default: yield every line.
   */
  readonly skipBeforeLine?: number;
  /** Validator of the response being split, stamped on every position handed out. */
  readonly validator?: string;
  /** A line longer than this is refused with `TOO_LARGE`, so memory stays bounded. Default 64 MiB. */
  readonly maxLineBytes?: number;
  /** When it has aborted, a read failure is the abort and is rethrown as is. */
  readonly signal?: AbortSignal;
  /** PHI-free context added to errors (method, route). */
  readonly context?: ErrorContext;
}

const NEWLINE = 0x0a;
const CR = 0x0d;
const BOM = '\uFEFF';

/**
 * Splits a byte stream into NDJSON lines, holding at most one line in memory. Blank lines are
 * counted but not yielded.
 *
 * A stream that ends without a final newline is accepted only if the last piece parses as JSON;
 * otherwise, and whenever reading fails midway (reset, body timeout), it throws `HTTP_TRANSIENT`
 * whose context carries `resumeOffset` and `resumeLineNo`: the position right after the last
 * complete line, from which the caller resumes with `Range: bytes=<resumeOffset>-`.
 *
 * @see https://hl7.org/fhir/uv/bulkdata/export.html (NDJSON output files)
 */
export async function* splitNdjson(
  chunks: AsyncIterable<Uint8Array>,
  options: SplitOptions = {},
): AsyncGenerator<NdjsonLine> {
  const maxLineBytes = options.maxLineBytes ?? 64 * 1024 * 1024;
  let { byteOffset: offset, lineNo } = options.start ?? { byteOffset: 0, lineNo: 1 };
  const skipBefore = options.skipBeforeLine ?? 0;
  const stamp = options.validator === undefined ? {} : { validator: options.validator };
  let pending: Buffer[] = [];
  let pendingBytes = 0;

  const failure = (message: string, cause?: unknown): PipelineError =>
    new PipelineError('HTTP_TRANSIENT', message, {
      cause,
      // The validator stays out of the error (it is the server's string, and errors get logged):
      // the caller has it on the `next` of the last line it took.
      context: { ...options.context, resumeOffset: offset, resumeLineNo: lineNo },
    });

  const take = (tail: Uint8Array): NdjsonLine | undefined => {
    // A view of the chunk when the line lies within it (no copy per line: the text is decoded below
    // and the bytes dropped with the chunk); joined only when it spans chunks.
    const bytes =
      pending.length === 0
        ? Buffer.from(tail.buffer, tail.byteOffset, tail.byteLength)
        : Buffer.concat([...pending, tail]);
    pending = [];
    pendingBytes = 0;
    const end = bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.length - 1 : bytes.length;
    let line = bytes.toString('utf8', 0, end);
    if (offset === 0 && line.startsWith(BOM)) line = line.slice(1);
    const item = {
      line,
      lineNo,
      byteOffset: offset,
      next: { byteOffset: offset + bytes.length + 1, lineNo: lineNo + 1, ...stamp },
    };
    offset += bytes.length + 1;
    lineNo++;
    return line.trim() === '' || item.lineNo < skipBefore ? undefined : item;
  };

  try {
    for await (const chunk of chunks) {
      let from = 0;
      for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, from)) {
        const item = take(chunk.subarray(from, nl));
        from = nl + 1;
        if (item !== undefined) yield item;
      }
      if (from < chunk.length) {
        pending.push(Buffer.from(chunk.subarray(from)));
        pendingBytes += chunk.length - from;
        if (pendingBytes > maxLineBytes) {
          throw new PipelineError('TOO_LARGE', 'an NDJSON line exceeds the size limit', {
            context: { ...options.context, lineNo, byteOffset: offset, maxLineBytes },
          });
        }
      }
    }
  } catch (err) {
    if (err instanceof PipelineError) throw err;
    if (options.signal?.aborted === true) throw options.signal.reason;
    throw failure('the NDJSON stream broke off mid-body', err);
  }

  if (lineNo < skipBefore) {
    // Fetched from the start to skip by line count, and the file is shorter than what was read.
    throw new PipelineError('HTTP_TRANSIENT', 'the NDJSON file ended before the line to resume from', {
      context: { ...options.context, resumeOffset: 0, resumeLineNo: skipBefore, linesSeen: lineNo - 1 },
    });
  }
  if (pendingBytes === 0) return;
  const rest = Buffer.concat(pending).toString('utf8');
  // A clean end in the middle of a line is a truncation (resume), never a line to parse.
  if (!isJson(rest)) throw failure('the NDJSON stream ends in a truncated line');
  const item = take(new Uint8Array(0));
  if (item !== undefined) yield item;
}

/** How a resumed read continues after the server answered: which bytes to split, from where. */
export interface ResumedRead {
  readonly chunks: AsyncIterable<Uint8Array>;
  readonly split: Pick<SplitOptions, 'start' | 'skipBeforeLine' | 'validator'>;
}

/**
 * The request headers of a verified resume from `position`: the range starts ONE byte before
 * the offset, so the answer proves the offset still follows a newline, and `If-Range` carries
 * the validator of the download the offset was counted in, so a changed file comes back whole.
 */
export function resumeHeaders(position: NdjsonPosition): Record<string, string> {
  if (position.byteOffset <= 0) return {};
  return {
    range: `bytes=${position.byteOffset - 1}-`,
    ...(position.validator === undefined ? {} : { 'if-range': position.validator }),
  };
}

/**
 * The strong validator of a response, for a later `If-Range`: a strong ETag, else Last-Modified.
 * A weak ETag (`W/…`) cannot be used for a range (RFC 9110 §13.1.5) and is ignored.
 */
export function validatorOf(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): string | undefined {
  const first = (name: string): string | undefined => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const etag = first('etag');
  if (etag !== undefined && /^"[^"]*"$/.test(etag)) return etag;
  const modified = first('last-modified');
  return modified !== undefined && !Number.isNaN(Date.parse(modified)) ? modified : undefined;
}

/**
 * Continues a file from `position` given the server's answer to {@link resumeHeaders}:
 * - 206 starting one byte before the offset, and that byte is a newline: the rest of the body
 *   continues the file at `position`;
 * - 200 (the server ignored Range, or If-Range did not match because the file changed): the
 *   whole file, whose first `position.lineNo - 1` lines are skipped by count;
 * - anything else — a 206 elsewhere, or a byte that is not a newline (the bytes changed under
 *   the offset, and the range would start mid-line) — `undefined`: fetch the file from its start
 *   and skip by line count instead.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-13.1.5 (If-Range)
 */
export async function continueFrom(
  status: number,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  body: AsyncIterable<Uint8Array>,
  position: NdjsonPosition,
): Promise<ResumedRead | undefined> {
  const validator = validatorOf(headers);
  const stamp = validator === undefined ? {} : { validator };
  if (position.byteOffset <= 0)
    return { chunks: body, split: { start: { byteOffset: 0, lineNo: 1 }, ...stamp } };
  if (status !== 206) return fromStart(body, position, validator);
  const range = headers['content-range'];
  const match = typeof range === 'string' ? /^bytes (\d+)-/.exec(range) : null;
  if (match === null || Number(match[1]) !== position.byteOffset - 1) return undefined;
  const iterator = body[Symbol.asyncIterator]();
  let first = await iterator.next();
  while (first.done !== true && first.value.length === 0) first = await iterator.next();
  if (first.done === true || first.value[0] !== NEWLINE) return undefined;
  const head = first.value.subarray(1);
  async function* rest(): AsyncGenerator<Uint8Array> {
    if (head.length > 0) yield head;
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) yield next.value;
  }
  const start = { byteOffset: position.byteOffset, lineNo: position.lineNo, ...stamp };
  return { chunks: rest(), split: { start, ...stamp } };
}

/** The whole file, skipping the lines before `position.lineNo` by count. */
export function fromStart(
  body: AsyncIterable<Uint8Array>,
  position: NdjsonPosition,
  validator: string | undefined,
): ResumedRead {
  return {
    chunks: body,
    split: {
      start: { byteOffset: 0, lineNo: 1 },
      skipBeforeLine: position.lineNo,
      ...(validator === undefined ? {} : { validator }),
    },
  };
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
