import { splitSegments } from './message.ts';

/**
 * HL7 batch protocol: `[FHS] {BHS {MSH…} BTS} [FTS]`, where BTS-1 counts the messages of its batch
 * and FTS-1 the batches of the file. A block holds either one message or one whole batch file.
 * @see HL7 v2.5.1 section 2.10.3
 */

/** What a block turned out to be. */
export type Hl7Block =
  | { readonly kind: 'message'; readonly text: string }
  | { readonly kind: 'batch'; readonly batch: Hl7Batch }
  | { readonly kind: 'invalid-batch'; readonly problem: BatchProblem; readonly header: BatchHeader };

/** PHI-free identity of a batch: who sent it and its control id. */
export interface BatchHeader {
  /** FHS-3/BHS-3 (sending application) and FHS-4/BHS-4 (facility), first component. */
  readonly sendingApplication: string;
  readonly sendingFacility: string;
  /** FHS-11 or BHS-11: the batch/file control id; `''` when the sender gave none. */
  readonly batchId: string;
}

export interface Hl7Batch extends BatchHeader {
  /** Messages in order, each as ER7 text. */
  readonly messages: readonly string[];
  readonly batches: number;
}

/** Why a batch is refused whole. Counts are numbers, never text from the batch. */
export interface BatchProblem {
  readonly reason: 'batch_incomplete' | 'batch_count_mismatch' | 'batch_malformed';
  /** Position of the offending trailer or segment, e.g. `BTS-1`, `FTS`. */
  readonly position: string;
  readonly declared?: number;
  readonly found?: number;
}

const BATCH_SEGMENTS = new Set(['FHS', 'BHS', 'BTS', 'FTS']);

function fields(segment: string): string[] {
  const sep = segment.charAt(3) || '|';
  return segment.split(sep);
}

function component(value: string | undefined): string {
  return (value ?? '').split('^')[0] ?? '';
}

/** The header of a batch from its FHS or first BHS (FHS-1 is the separator, so FHS-3 is index 2). */
export function batchHeaderOf(text: string): BatchHeader {
  const segments = splitSegments(text);
  const head = segments.find((s) => s.startsWith('FHS') || s.startsWith('BHS')) ?? '';
  const f = fields(head);
  return { sendingApplication: component(f[2]), sendingFacility: component(f[3]), batchId: component(f[10]) };
}

/** Whether a block (or the start of a cut-off block) is a batch file. */
export function looksLikeBatch(text: string): boolean {
  const start = text.trimStart().slice(0, 3);
  return start === 'FHS' || start === 'BHS';
}

/**
 * Classifies a complete block and, for a batch, checks its structure and every trailer count.
 * A batch is valid only as a whole: a missing trailer, a count that lies or a segment out of
 * place makes it `invalid-batch`.
 */
export function readBlock(text: string): Hl7Block {
  if (!looksLikeBatch(text)) return { kind: 'message', text };
  const header = batchHeaderOf(text);
  const invalid = (problem: BatchProblem): Hl7Block => ({ kind: 'invalid-batch', problem, header });
  const segments = splitSegments(text);
  const messages: string[] = [];
  let current: string[] | undefined;
  let inBatch = false;
  let batchMessages = 0;
  let batches = 0;
  let sawFhs = false;
  let sawFts = false;
  const close = () => {
    if (current) messages.push(current.join('\r'));
    current = undefined;
  };
  for (const [index, segment] of segments.entries()) {
    const name = segment.slice(0, 3);
    if (sawFts) return invalid({ reason: 'batch_malformed', position: 'FTS' });
    if (!BATCH_SEGMENTS.has(name)) {
      if (name === 'MSH') {
        if (!inBatch) return invalid({ reason: 'batch_malformed', position: 'BHS' });
        close();
        current = [segment];
        batchMessages += 1;
      } else if (current) {
        current.push(segment);
      } else {
        return invalid({ reason: 'batch_malformed', position: name });
      }
      continue;
    }
    switch (name) {
      case 'FHS':
        if (index !== 0) return invalid({ reason: 'batch_malformed', position: 'FHS' });
        sawFhs = true;
        break;
      case 'BHS':
        if (inBatch) return invalid({ reason: 'batch_incomplete', position: 'BTS' });
        inBatch = true;
        batchMessages = 0;
        break;
      case 'BTS': {
        if (!inBatch) return invalid({ reason: 'batch_malformed', position: 'BTS' });
        close();
        const lie = countMismatch(segment, 'BTS-1', batchMessages);
        if (lie) return invalid(lie);
        inBatch = false;
        batches += 1;
        break;
      }
      case 'FTS': {
        if (inBatch) return invalid({ reason: 'batch_incomplete', position: 'BTS' });
        const lie = countMismatch(segment, 'FTS-1', batches);
        if (lie) return invalid(lie);
        sawFts = true;
        break;
      }
    }
  }
  if (inBatch) return invalid({ reason: 'batch_incomplete', position: 'BTS' });
  if (sawFhs && !sawFts) return invalid({ reason: 'batch_incomplete', position: 'FTS' });
  return { kind: 'batch', batch: { ...header, messages, batches } };
}

/** A declared count as a number; a non-number counts as -1 (the position says where). */
/** The problem of a trailer (BTS-1, FTS-1) whose declared count is not what was found; none when it is empty. */
function countMismatch(
  segment: string,
  position: 'BTS-1' | 'FTS-1',
  found: number,
): BatchProblem | undefined {
  const declared = fields(segment)[1];
  if (declared === undefined || declared === '' || Number(declared) === found) return undefined;
  return { reason: 'batch_count_mismatch', position, declared: toCount(declared), found };
}

function toCount(text: string): number {
  const n = Number(text);
  return Number.isInteger(n) ? n : -1;
}
