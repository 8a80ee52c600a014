import { PipelineError } from '@ehrflow/errors';

/** MLLP start block (VT). @see https://www.hl7.org/implement/standards/product_brief.cfm?product_id=55 (MLLP release 2, section 1.2) */
export const MLLP_START = 0x0b;
/** MLLP end block (FS), followed by {@link MLLP_END_CR}. */
export const MLLP_END = 0x1c;
export const MLLP_END_CR = 0x0d;

/** Wraps one HL7 payload in an MLLP block. */
export function frameMllp(payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const out = Buffer.allocUnsafe(body.length + 3);
  out[0] = MLLP_START;
  body.copy(out, 1);
  out[body.length + 1] = MLLP_END;
  out[body.length + 2] = MLLP_END_CR;
  return out;
}

/** What one chunk of bytes yielded. */
export interface FramerOutput {
  /** Complete payloads, in order, without their block characters. */
  readonly frames: Buffer[];
  /** Bytes seen outside a block (noise between frames), dropped. */
  readonly skippedBytes: number;
}

/**
 * A streaming MLLP decoder with a hard size limit. Bytes are copied into one growing buffer only
 * while a block is open, so memory per connection is bounded by `maxFrameBytes`; a block that
 * would pass it throws `TOO_LARGE` (the caller answers and closes the connection, because the
 * rest of that block cannot be told apart from the next one).
 *
 * Written here rather than taken from a library: `@medplum/hl7`'s connection buffers a block
 * without a limit and reads on its own, and backpressure (pausing the socket while Kafka is slow)
 * needs the reading loop in our hands. The framing itself is three byte values.
 */
export class MllpFramer {
  readonly maxFrameBytes: number;
  private chunks: Buffer[] = [];
  private size = 0;
  private open = false;
  /** A block end (FS) was the last byte seen; waiting for the CR that closes it. */
  private sawEnd = false;

  constructor(maxFrameBytes: number) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** True while a block has started and not ended: a disconnect now cuts a message off. */
  get inFrame(): boolean {
    return this.open;
  }

  /** Bytes of the open block so far. */
  get pendingBytes(): number {
    return this.size;
  }

  /** The open block's bytes so far (for quarantining a cut-off batch), and forgets them. */
  takePartial(): Buffer {
    const partial = Buffer.concat(this.chunks, this.size);
    this.reset();
    return partial;
  }

  /** Feeds bytes; returns every block they complete. @throws PipelineError TOO_LARGE */
  push(chunk: Buffer): FramerOutput {
    const frames: Buffer[] = [];
    let skipped = 0;
    let i = 0;
    while (i < chunk.length) {
      if (!this.open) {
        const start = chunk.indexOf(MLLP_START, i);
        if (start < 0) {
          skipped += chunk.length - i;
          break;
        }
        skipped += start - i;
        this.open = true;
        i = start + 1;
        continue;
      }
      if (this.sawEnd) {
        this.sawEnd = false;
        if (chunk[i] === MLLP_END_CR) {
          frames.push(Buffer.concat(this.chunks, this.size));
          this.reset();
          i += 1;
          continue;
        }
        // An FS not followed by CR is data (some senders omit the CR; MLLP r2 requires it).
        this.append(Buffer.of(MLLP_END));
      }
      const end = chunk.indexOf(MLLP_END, i);
      const stop = end < 0 ? chunk.length : end;
      const nested = chunk.indexOf(MLLP_START, i);
      if (nested >= 0 && nested < stop) {
        // A new start block inside an open one: the previous block was cut off; its bytes are dropped.
        skipped += this.size + (nested - i);
        this.reset();
        this.open = true;
        i = nested + 1;
        continue;
      }
      this.append(chunk.subarray(i, stop));
      if (end < 0) break;
      this.sawEnd = true;
      i = end + 1;
    }
    return { frames, skippedBytes: skipped };
  }

  private append(bytes: Buffer): void {
    if (bytes.length === 0) return;
    if (this.size + bytes.length > this.maxFrameBytes) {
      const size = this.size + bytes.length;
      this.reset();
      throw new PipelineError('TOO_LARGE', `MLLP block passes ${this.maxFrameBytes} bytes`, {
        context: { limit: this.maxFrameBytes, atLeast: size },
      });
    }
    // Copy: the socket may reuse its buffer.
    this.chunks.push(Buffer.from(bytes));
    this.size += bytes.length;
  }

  private reset(): void {
    this.chunks = [];
    this.size = 0;
    this.open = false;
    this.sawEnd = false;
  }
}
