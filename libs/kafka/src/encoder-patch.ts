import { createRequire } from 'node:module';

/**
 * Two changes to kafkajs 2.2.4's protocol `Encoder`, which builds every request.
 *
 * **Growth with `Buffer.allocUnsafe` instead of `Buffer.alloc`.** Every produce request is built by
 * encoders that start small and double (`ensureAvailable`): one per record in stock kafkajs (512
 * bytes, grown to 2 KiB for a 1.5 KB value; `record-patch.ts` now writes each record into one
 * exact-size buffer instead), one per record batch (grown to ~1 MiB for 500 records) and one per
 * request. `Buffer.alloc` zero-fills every new buffer before the old content is copied over it, and
 * sub-pool sizes never come from Node's pre-allocated pool; measured on this repository's records
 * (500 × 1.5 KB per batch), encoding a batch cost ~10 µs CPU per record stock and ~8 µs with this
 * change, and the profile of the extractor showed a tenth of its CPU in these zero-filled
 * allocations. Safe because an `Encoder` writes only at `this.offset` and moves it forward (every
 * `write*` method calls `ensureAvailable` first), the old bytes up to `offset` are copied into the
 * new buffer, and its content is read only through the `buffer` getter, `buf.slice(0, offset)`:
 * no byte of the uninitialised tail is ever read or sent. The constructor's first buffer stays
 * `Buffer.alloc` (it cannot be patched without replacing the class).
 *
 * **Nested encoders are referenced, not copied** (`writeEncoder`, `writeEncoderArray`, and
 * `writeBytes` of a Buffer of {@link REFERENCE_MIN_BYTES} or more). Stock kafkajs copies each
 * level of a produce request into the next one, each into a buffer grown by doubling: the records
 * into the batch body, the body into the batch, the batch into its length-prefixed bytes, those
 * into the partition, the partition into the topic, the topic into the request and the request
 * into its size-prefixed frame. Counted in the extractor (`Buffer.allocUnsafe` calls of 16 KiB and
 * more), that was ~20 KB of fresh buffers per 1.5 KB record, ~13 times the payload: memory the
 * kernel zero-fills on first touch and that stays resident until V8 collects its wrappers, most of
 * the tens of MB of `arrayBuffers` a stage held at its peak. Patched, an encoder keeps the bytes of
 * the encoders written into it as a list of views (`rope`) ahead of its own buffer, and joins them
 * into one buffer only when its `buffer` is read: once for the batch body's checksum, once for the
 * batch's length-prefixed bytes, once for the frame written to the socket, each of the exact size.
 * Safe because an encoder's bytes up to `offset` never change once written (writes only append;
 * growth copies into a new buffer and leaves the old one as it was), so a view of them stays what
 * was written; `size()` counts the views; and the frame is read through `buffer` as before. A
 * caller's own Buffer given to `writeBytes` is referenced too, until the request is framed: in
 * kafkajs' produce path only encoder output goes through `writeBytes` (record keys and values are
 * written by `writeVarIntBytes`, which still copies), so no caller's Buffer is held.
 *
 * Like the request-queue patch it applies only to the exact kafkajs version it was read against.
 * `encoder-patch.test.ts` holds both to stock kafkajs, byte for byte, on produce requests.
 */
const PATCHED_VERSION = '2.2.4';
const MARK = Symbol.for('ehrflow.kafkajs.encoderPatch');

/**
 * Nested encoders and buffers this large or larger are referenced rather than copied. Below it a
 * copy costs less than a list entry and keeps small requests in one buffer, as stock.
 */
export const REFERENCE_MIN_BYTES = 512;

interface EncoderInstance {
  buf: Buffer;
  offset: number;
  /** Views of the bytes written before `buf`, in order (patched encoders only). */
  rope?: Buffer[] | undefined;
  /** Their total length. */
  ropeBytes?: number;
  writeInt32(value: number): EncoderInstance;
  ensureAvailable(length: number): void;
}

type EncoderMethod = (this: EncoderInstance, value: never) => EncoderInstance;

interface EncoderClass {
  nextPowerOfTwo?: (value: number) => number;
  prototype: {
    ensureAvailable?: (this: EncoderInstance, length: number) => void;
    size?: (this: EncoderInstance) => number;
    writeEncoder?: EncoderMethod;
    writeEncoderArray?: EncoderMethod;
    writeBytes?: EncoderMethod;
    [MARK]?: true;
  };
}

export type EncoderPatchResult = 'applied' | 'already-applied' | 'skipped-version' | 'skipped-shape';

/** Applies the patch once per process; returns what happened (for a log line and for tests). */
export function patchKafkaJsEncoder(): EncoderPatchResult {
  const require = createRequire(import.meta.url);
  const { version } = require('kafkajs/package.json') as { version: string };
  if (version !== PATCHED_VERSION) return 'skipped-version';
  const Encoder = require('kafkajs/src/protocol/encoder.js') as EncoderClass;
  const proto = Encoder.prototype;
  if (proto[MARK]) return 'already-applied';
  const nextPowerOfTwo = Encoder.nextPowerOfTwo;
  if (typeof proto.ensureAvailable !== 'function' || typeof nextPowerOfTwo !== 'function') {
    return 'skipped-shape';
  }
  const { writeBytes } = proto;
  const buffer = Object.getOwnPropertyDescriptor(proto, 'buffer');
  if (
    typeof proto.size !== 'function' ||
    typeof proto.writeEncoder !== 'function' ||
    typeof proto.writeEncoderArray !== 'function' ||
    typeof writeBytes !== 'function' ||
    typeof buffer?.get !== 'function'
  ) {
    return 'skipped-shape';
  }
  proto.ensureAvailable = function ensureAvailable(this: EncoderInstance, length: number): void {
    if (this.offset + length <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(nextPowerOfTwo(this.offset + length));
    this.buf.copy(grown, 0, 0, this.offset);
    this.buf = grown;
  };
  proto.size = function size(this: EncoderInstance): number {
    return (this.ropeBytes ?? 0) + this.offset;
  };
  Object.defineProperty(proto, 'buffer', {
    configurable: true,
    enumerable: buffer.enumerable ?? false,
    get(this: EncoderInstance): Buffer {
      const rope = this.rope;
      if (rope === undefined) return this.buf.subarray(0, this.offset);
      if (this.offset > 0) rope.push(this.buf.subarray(0, this.offset));
      const joined = Buffer.concat(rope, this.ropeBytes! + this.offset);
      this.rope = undefined;
      this.ropeBytes = 0;
      this.buf = joined;
      this.offset = joined.length;
      return joined;
    },
  });
  proto.writeEncoder = function writeEncoder(this: EncoderInstance, value: EncoderInstance) {
    if (!isEncoder(value)) throw new Error('value should be an instance of Encoder');
    append(this, value);
    return this;
  };
  proto.writeEncoderArray = function writeEncoderArray(this: EncoderInstance, values: EncoderInstance[]) {
    if (!Array.isArray(values) || !values.every(isEncoder)) {
      throw new Error('all values should be an instance of Encoder[]');
    }
    for (const value of values) append(this, value);
    return this;
  };
  proto.writeBytes = function patchedWriteBytes(this: EncoderInstance, value: unknown) {
    if (!Buffer.isBuffer(value) || value.length < REFERENCE_MIN_BYTES) {
      return writeBytes.call(this, value as never);
    }
    this.writeInt32(value.length);
    reference(this, value);
    return this;
  };
  proto[MARK] = true;
  return 'applied';
}

function isEncoder(value: unknown): value is EncoderInstance {
  return value != null && Buffer.isBuffer((value as EncoderInstance).buf);
}

/** Writes the bytes of `child` into `encoder`: a copy when small, else views of them. */
function append(encoder: EncoderInstance, child: EncoderInstance): void {
  if (child.rope === undefined && child.offset < REFERENCE_MIN_BYTES) {
    encoder.ensureAvailable(child.offset);
    child.buf.copy(encoder.buf, encoder.offset, 0, child.offset);
    encoder.offset += child.offset;
    return;
  }
  if (child.rope !== undefined) for (const view of child.rope) reference(encoder, view);
  if (child.offset > 0) reference(encoder, child.buf.subarray(0, child.offset));
}

/**
 * Appends `view` to `encoder` without copying it: what the encoder's buffer holds so far moves to
 * its rope, then the view; later writes go to the rest of the buffer, past the moved bytes.
 */
function reference(encoder: EncoderInstance, view: Buffer): void {
  const rope = (encoder.rope ??= []);
  if (encoder.offset > 0) {
    rope.push(encoder.buf.subarray(0, encoder.offset));
    encoder.ropeBytes = (encoder.ropeBytes ?? 0) + encoder.offset;
    encoder.buf = encoder.buf.subarray(encoder.offset);
    encoder.offset = 0;
  }
  rope.push(view);
  encoder.ropeBytes = (encoder.ropeBytes ?? 0) + view.length;
}
