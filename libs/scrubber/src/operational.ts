/**
 * Operational identifiers: values the pipeline itself configures or assigns — a source id
 * (`site-20240917`), a job id, a Kafka topic, partition and offset, a registry subject, a consumer
 * group. An operator needs them readable in logs and alerts to tell sources and jobs apart, and
 * none of them comes from a record. The scrubber's digit-run rule would otherwise turn
 * `site-20240917` into `site-[ID]`.
 *
 * They are recognised by where they stand, never by their look alone:
 * - under a known key of a logged object (`{ sourceId: 'site-20240917' }`), see
 *   {@link isOperationalField};
 * - right after a known label in a log message or alert text (`source site-20240917`,
 *   `topic ehr.raw`), only when the scrubber was created with `keepOperational` (the logger and
 *   alerts; never the free-text scrubbing of clinical notes, where "job A1234567" is a person's
 *   identifier).
 *
 * And only when the value has the shape such ids have: the characters of a Kafka topic or a
 * configured source id (letters, digits, `.`, `_`, `-`, `:`), at most 128 of them, and at least one
 * letter (a subject also ends in `-value` or `-key`; a partition or offset is digits only), and none
 * of the shapes of a record value listed in RECORD_SHAPES (dates and date-times, SSNs, letter-
 * prefixed record numbers, several long digit runs). Such a value put under an operational key or
 * after a label by mistake is scrubbed as before. Caller-supplied sensitive values are redacted everywhere, operational or not.
 */

const ID_SHAPE = /^(?=[A-Za-z0-9._:-]*[A-Za-z])[A-Za-z0-9](?:[A-Za-z0-9._:-]{0,126}[A-Za-z0-9])?$/;
const SUBJECT_SHAPE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,120}-(?:value|key)$/;
const DIGITS = /^\d{1,20}$/;

/**
 * Shapes a record value takes that an operational id never needs, refused even when the rest of
 * the value looks like an id: a date or date-time (`1961-03-03T10:20:00Z` has letters), an SSN
 * inside a compound token (`jane.doe.123-45-6789`), a letter-prefixed record number (`MRN12345678`,
 * `A1234567`), and more than one long digit run (`19610303-1234567-SMITH`). A source id keeps one
 * digit run of its own (`site-20240917`).
 */
const RECORD_SHAPES: readonly RegExp[] = [
  /\d{4}-\d{1,2}-\d{1,2}/,
  /\d{1,2}[/-]\d{1,2}[/-]\d{2,4}/,
  /\d{3}-\d{2}-\d{4}/,
  /(?:^|[^A-Za-z])[A-Za-z]{1,4}\d{6,}/,
];

function looksLikeRecordValue(value: string): boolean {
  if (RECORD_SHAPES.some((shape) => shape.test(value))) return true;
  return (value.match(/\d{5,}/g) ?? []).length > 1;
}

type Kind = 'id' | 'subject' | 'number';

/** Keys (compared case-insensitively, `_`, `-`, `.` ignored) whose values are operational. */
const KEYS: ReadonlyMap<string, Kind> = new Map<string, Kind>([
  ['sourceid', 'id'],
  ['source', 'id'],
  ['jobid', 'id'],
  ['job', 'id'],
  ['topic', 'id'],
  ['sourcetopic', 'id'],
  ['validtopic', 'id'],
  ['cleantopic', 'id'],
  ['groupid', 'id'],
  ['group', 'id'],
  ['subject', 'subject'],
  ['schemasubject', 'subject'],
  ['contract', 'subject'],
  ['partition', 'number'],
  ['sourcepartition', 'number'],
  ['offset', 'number'],
  ['sourceoffset', 'number'],
  ['firstoffset', 'number'],
]);

/** Labels that introduce an operational value in text, with the kind of value they take. */
const LABELS: readonly (readonly [label: string, kind: Kind])[] = [
  ['source(?:\\s*id|Id)?', 'id'],
  ['job(?:\\s*id|Id)?', 'id'],
  ['(?:consumer\\s+)?group(?:\\s*id|Id)?', 'id'],
  ['topic', 'id'],
  ['subject', 'subject'],
];

function normalise(key: string): string {
  return key.toLowerCase().replace(/[_.-]/g, '');
}

function fits(kind: Kind, value: string): boolean {
  switch (kind) {
    case 'id':
      return ID_SHAPE.test(value) && !looksLikeRecordValue(value);
    case 'subject':
      return SUBJECT_SHAPE.test(value) && !looksLikeRecordValue(value);
    case 'number':
      return DIGITS.test(value);
  }
}

/** Whether `value`, found under `key` in a logged object, is an operational id to keep readable. */
export function isOperationalField(key: string, value: string): boolean {
  const kind = KEYS.get(normalise(key));
  return kind !== undefined && fits(kind, value);
}

/**
 * Matches a label and the token after it (`source: site-20240917`); group 1 is the label with its
 * separator, group 2 the candidate value. Callers check the value with {@link isOperationalToken}.
 */
export const OPERATIONAL_LABEL = new RegExp(
  // The token must end the word: "topic jane.doe@example.org" is an e-mail address, not a topic.
  `\\b(${LABELS.map(([l]) => l).join('|')})(\\s*[:=]?\\s*)([A-Za-z0-9][A-Za-z0-9._:-]*[A-Za-z0-9]|[A-Za-z0-9])(?=$|[\\s,;)\\]"'}]|[.:](?:\\s|$))`,
  'gi',
);

/** Whether the token after a label (see {@link OPERATIONAL_LABEL}) is an operational value. */
export function isOperationalToken(label: string, token: string): boolean {
  const l = label.toLowerCase();
  const kind = l.startsWith('subject') ? 'subject' : 'id';
  return fits(kind, token);
}
