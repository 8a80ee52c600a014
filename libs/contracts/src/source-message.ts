/**
 * Kafka headers that tie a valid record to the raw record it came from when one raw record
 * becomes several (an HL7 v2 message maps to a Patient, an Encounter, Observations…). The
 * validator sets both on every record it derives from such a message; reconciliation counts
 * messages with them: a message is valid when all of its parts are on the valid topics.
 * Values are a record id (a hash) and a count: no record data.
 */
export const SOURCE_RECORD_HEADER = 'ehrflow-source-record';
/** How many valid records the raw record maps to (decimal). */
export const SOURCE_PARTS_HEADER = 'ehrflow-source-parts';
