import { ISA_LENGTH, readDelimiters, type DelimiterProblem, type X12Delimiters } from './delimiters.ts';

/** One segment with where it lies in the input: byte offsets, so a caller can cut the raw bytes. */
export interface X12Segment {
  /** Segment id (`ST`, `CLM`, `NM1`). */
  readonly id: string;
  /** Elements by position: `elements[1]` is element 01; `elements[0]` is the id. */
  readonly elements: readonly string[];
  /** Byte offset of the first byte of the segment in the input. */
  readonly start: number;
  /** Byte offset just after the segment terminator. */
  readonly end: number;
  /** 1-based position of the segment in the input. */
  readonly ordinal: number;
}

/** A problem of the byte stream itself: a position and a kind, never a value. */
export interface TokenizerProblem {
  readonly kind: DelimiterProblem | 'segment_too_long' | 'segment_unterminated' | 'segment_id_invalid';
  /** Byte offset where the problem was found. */
  readonly offset: number;
  /** Ordinal of the segment concerned. */
  readonly ordinal: number;
}

export interface TokenizerOptions {
  /** Longest segment accepted, in bytes; a longer one stops the input (bounded memory). */
  readonly maxSegmentBytes?: number;
}

const SEGMENT_ID = /^[A-Z][A-Z0-9]{1,2}$/;
const CR = 0x0d;
const LF = 0x0a;

/**
 * A streaming X12 tokenizer: feed chunks as they are read, get whole segments back. It holds no
 * more than one partial segment (bounded by `maxSegmentBytes`) and reads the delimiters from the
 * ISA, so `|`/`^`/newline files are read like `*`/`:`/`~` ones. A line break after a terminator
 * is skipped (many senders wrap segments one per line). It decodes bytes as latin1, one character
 * per byte, so element text positions are byte positions.
 *
 * Why not a library: `x12-parser` and `node-x12` give segment objects without byte offsets (the
 * receiver must cut a file into transaction sets byte for byte), trim element values, and emit a
 * cut-off last segment as if it were whole; see docs/architecture.md.
 */
export class X12Tokenizer {
  readonly #max: number;
  #delimiters: X12Delimiters | undefined;
  #terminator = -1;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Absolute offset of the first pending byte. */
  #pendingStart = 0;
  /** Absolute offset of the next byte to be pushed. */
  #offset = 0;
  #ordinal = 0;
  #skipLineBreak = false;
  #problem: TokenizerProblem | undefined;

  constructor(options: TokenizerOptions = {}) {
    this.#max = options.maxSegmentBytes ?? 64 * 1024;
  }

  /** The delimiters, once the ISA has been read. */
  get delimiters(): X12Delimiters | undefined {
    return this.#delimiters;
  }

  /** The first problem; once set, further input is ignored. */
  get problem(): TokenizerProblem | undefined {
    return this.#problem;
  }

  /** Bytes consumed so far. */
  get offset(): number {
    return this.#offset;
  }

  /** Feeds a chunk; returns the segments it completes. */
  push(chunk: Buffer): X12Segment[] {
    if (this.#problem !== undefined) return [];
    const out: X12Segment[] = [];
    let from = 0;
    const chunkStart = this.#offset;
    this.#offset += chunk.length;
    if (this.#delimiters === undefined) {
      // Leading blank lines before the ISA are tolerated; anything else must start it.
      if (this.#pendingBytes === 0) {
        while (from < chunk.length && (chunk[from] === CR || chunk[from] === LF || chunk[from] === 0x20))
          from += 1;
        this.#pendingStart = chunkStart + from;
      }
      // Only the ISA's 106 bytes are held here; the rest of the chunk is tokenized below.
      const need = ISA_LENGTH - this.#pendingBytes;
      this.#append(chunk.subarray(from, from + need));
      if (this.#pendingBytes < ISA_LENGTH) return out;
      const head = Buffer.concat(this.#pending);
      const delimiters = readDelimiters(head);
      if (typeof delimiters === 'string') {
        this.#fail(delimiters, this.#pendingStart, 1);
        return out;
      }
      this.#delimiters = delimiters;
      this.#terminator = delimiters.segment.charCodeAt(0);
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#emit(out, head, this.#pendingStart, this.#pendingStart + ISA_LENGTH);
      this.#skipLineBreak = true;
      const rest = chunk.subarray(from + need);
      this.#offset -= rest.length;
      return [...out, ...this.push(rest)];
    }
    while (from < chunk.length && this.#problem === undefined) {
      if (this.#skipLineBreak && this.#pendingBytes === 0) {
        while (from < chunk.length && (chunk[from] === CR || chunk[from] === LF)) from += 1;
        if (from >= chunk.length) break;
        this.#skipLineBreak = false;
        this.#pendingStart = chunkStart + from;
      }
      if (this.#pendingBytes === 0) this.#pendingStart = chunkStart + from;
      const at = chunk.indexOf(this.#terminator, from);
      if (at === -1) {
        this.#append(chunk.subarray(from));
        break;
      }
      const piece = chunk.subarray(from, at);
      const raw = this.#pendingBytes === 0 ? piece : Buffer.concat([...this.#pending, piece]);
      if (raw.length > this.#max) {
        this.#fail('segment_too_long', this.#pendingStart, this.#ordinal + 1);
        break;
      }
      this.#pending = [];
      this.#pendingBytes = 0;
      const end = at + 1;
      // A line break after the terminator is skipped before the next segment starts.
      this.#skipLineBreak = this.#terminator !== LF && this.#terminator !== CR;
      this.#emit(out, raw, this.#pendingStart, chunkStart + end);
      from = end;
    }
    return out;
  }

  /**
   * Ends the input. Bytes after the last terminator (other than line breaks) mean the file was
   * cut inside a segment.
   */
  finish(): TokenizerProblem | undefined {
    if (this.#problem !== undefined) return this.#problem;
    if (this.#delimiters === undefined) {
      this.#fail(this.#pendingBytes === 0 ? 'not_isa' : 'segment_unterminated', this.#pendingStart, 1);
    } else if (this.#pendingBytes > 0) {
      const rest = Buffer.concat(this.#pending)
        .toString('latin1')
        .replace(/[\r\n]/g, '');
      if (rest !== '') this.#fail('segment_unterminated', this.#pendingStart, this.#ordinal + 1);
    }
    return this.#problem;
  }

  #append(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.length;
    if (this.#pendingBytes > Math.max(this.#max, ISA_LENGTH)) {
      this.#fail('segment_too_long', this.#pendingStart, this.#ordinal + 1);
    }
  }

  #fail(kind: TokenizerProblem['kind'], offset: number, ordinal: number): void {
    this.#problem ??= { kind, offset, ordinal };
    this.#pending = [];
    this.#pendingBytes = 0;
  }

  #emit(out: X12Segment[], raw: Buffer, start: number, end: number): void {
    const d = this.#delimiters as X12Delimiters;
    let text = raw.toString('latin1');
    if (text.endsWith(d.segment)) text = text.slice(0, -1);
    if (d.segment === '\n' && text.endsWith('\r')) text = text.slice(0, -1);
    this.#ordinal += 1;
    const cut = text.indexOf(d.element);
    const id = cut === -1 ? text : text.slice(0, cut);
    if (!SEGMENT_ID.test(id)) {
      this.#fail('segment_id_invalid', start, this.#ordinal);
      return;
    }
    out.push(new LazySegment(id, text, d.element, start, end, this.#ordinal));
  }
}

/**
 * A segment whose elements are split on first use: the envelope check looks at the elements of
 * six segment kinds only, and splitting every segment was its largest cost (garbage collection).
 */
class LazySegment implements X12Segment {
  readonly id: string;
  readonly start: number;
  readonly end: number;
  readonly ordinal: number;
  #elements: string[] | undefined;
  readonly #text: string;
  readonly #separator: string;

  constructor(id: string, text: string, separator: string, start: number, end: number, ordinal: number) {
    this.id = id;
    this.start = start;
    this.end = end;
    this.ordinal = ordinal;
    this.#text = text;
    this.#separator = separator;
  }

  get elements(): readonly string[] {
    this.#elements ??= this.#text.split(this.#separator);
    return this.#elements;
  }
}

/** Splits an element into its components (`SV1-01` `HC:99213`). */
export function componentsOf(element: string | undefined, delimiters: X12Delimiters): string[] {
  return element === undefined || element === '' ? [] : element.split(delimiters.component);
}

/** Tokenizes a whole buffer (tests, one transaction set on the validator side). */
export function tokenize(
  bytes: Buffer,
  options: TokenizerOptions = {},
): { segments: X12Segment[]; delimiters: X12Delimiters | undefined; problem: TokenizerProblem | undefined } {
  const t = new X12Tokenizer(options);
  const segments = t.push(bytes);
  const problem = t.finish();
  return { segments, delimiters: t.delimiters, problem };
}
