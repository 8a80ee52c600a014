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
}

export interface SplitOptions {
  /** Position of the first byte of `chunks` in the file. Default: start of the file. */
  readonly start?: NdjsonPosition;
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
  let pending: Buffer[] = [];
  let pendingBytes = 0;

  const failure = (message: string, cause?: unknown): PipelineError =>
    new PipelineError('HTTP_TRANSIENT', message, {
      cause,
      context: { ...options.context, resumeOffset: offset, resumeLineNo: lineNo },
    });

  const take = (tail: Uint8Array): NdjsonLine | undefined => {
    const bytes = pending.length === 0 ? Buffer.from(tail) : Buffer.concat([...pending, tail]);
    pending = [];
    pendingBytes = 0;
    const end = bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.length - 1 : bytes.length;
    let line = bytes.toString('utf8', 0, end);
    if (offset === 0 && line.startsWith(BOM)) line = line.slice(1);
    const item = { line, lineNo, byteOffset: offset, next: { byteOffset: offset + bytes.length + 1, lineNo: lineNo + 1 } };
    offset += bytes.length + 1;
    lineNo++;
    return line.trim() === '' ? undefined : item;
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

  if (pendingBytes === 0) return;
  const rest = Buffer.concat(pending).toString('utf8');
  if (!isJson(rest)) throw failure('the NDJSON stream ends in a truncated line');
  const item = take(new Uint8Array(0));
  if (item !== undefined) yield item;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
