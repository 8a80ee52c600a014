import { SOURCE_PARTS_HEADER, SOURCE_RECORD_HEADER } from '@ehrflow/contracts';

/** The valid parts seen of one raw record that maps to several (an HL7 v2 message). */
export interface MessageParts {
  /** How many parts the validator said the message has. */
  parts: number;
  /** Record ids of the parts seen on the valid topics. */
  readonly ids: Set<string>;
}

/** Valid records grouped by the raw record they came from. */
export interface MessageScan {
  /** Raw record id → its parts. */
  readonly messages: Map<string, MessageParts>;
  /** Valid record id → raw record id. */
  readonly partOf: Map<string, string>;
}

export const emptyMessageScan = (): MessageScan => ({ messages: new Map(), partOf: new Map() });

/**
 * Notes a valid record that names its raw record ({@link SOURCE_RECORD_HEADER}); a record without
 * the header is its own message (a FHIR resource). A header that is not a positive count is
 * ignored, so the record counts as its own message and the mismatch shows as a gap.
 */
export function notePart(
  scan: MessageScan,
  recordId: string,
  headers: Readonly<Record<string, string>>,
): void {
  const source = headers[SOURCE_RECORD_HEADER];
  const parts = Number(headers[SOURCE_PARTS_HEADER]);
  if (source === undefined || source === '' || !Number.isInteger(parts) || parts < 1) return;
  let entry = scan.messages.get(source);
  if (entry === undefined) {
    entry = { parts, ids: new Set() };
    scan.messages.set(source, entry);
  }
  // A replay after a mapping fix may change the count: the latest one seen wins.
  entry.parts = parts;
  entry.ids.add(recordId);
  scan.partOf.set(recordId, source);
}

/** The stages reconciliation counts messages at. */
export const MESSAGE_STAGES = ['raw', 'valid', 'quarantined', 'incomplete', 'clean', 'loaded'] as const;

/** Counts in messages (raw records), as reconciliation compares them. */
export interface MessageCounts extends Readonly<Record<(typeof MESSAGE_STAGES)[number], number>> {
  readonly raw: number;
  /** Messages whose every part is on the valid topics, none of them quarantined. */
  readonly valid: number;
  /** Messages with a quarantine record (whole, or one part refused by its contract). */
  readonly quarantined: number;
  /** Messages with some valid parts but not all, and no quarantine record (still in flight or lost). */
  readonly incomplete: number;
  /** Valid messages whose every part is on the clean topics. */
  readonly clean: number;
  /** Valid messages whose every part the loader committed. */
  readonly loaded: number;
}

/**
 * Message-level counts: valid + quarantined must equal raw, clean and loaded must equal valid.
 * Quarantine records of a message carry the raw record id (the validator keeps the whole message
 * for replay), so a message quarantined and later replayed whole counts as valid only.
 */
export function countMessages(input: {
  readonly raw: ReadonlySet<string>;
  readonly valid: ReadonlySet<string>;
  readonly quarantined: ReadonlySet<string>;
  readonly clean: ReadonlySet<string>;
  readonly loaded: ReadonlySet<string>;
  readonly scan: MessageScan;
}): MessageCounts {
  const { scan } = input;
  const complete = (id: string): boolean => {
    const m = scan.messages.get(id);
    return m !== undefined && m.ids.size === m.parts;
  };
  const partsOf = (id: string): Iterable<string> => scan.messages.get(id)?.ids ?? [id];
  const quarantined = new Set([...input.quarantined].filter((id) => !complete(id)));
  const valid = new Set<string>();
  let incomplete = 0;
  for (const [id, m] of scan.messages) {
    if (quarantined.has(id)) continue;
    if (m.ids.size === m.parts) valid.add(id);
    else incomplete += 1;
  }
  // Valid records that name no message are messages of their own.
  for (const id of input.valid) if (!scan.partOf.has(id)) valid.add(id);
  const all = (id: string, where: ReadonlySet<string>): boolean => {
    for (const part of partsOf(id)) if (!where.has(part)) return false;
    return true;
  };
  let clean = 0;
  let loaded = 0;
  for (const id of valid) {
    if (all(id, input.clean)) clean += 1;
    if (all(id, input.loaded)) loaded += 1;
  }
  return { raw: input.raw.size, valid: valid.size, quarantined: quarantined.size, incomplete, clean, loaded };
}
