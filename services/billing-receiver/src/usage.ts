/** `--help` text of the billing receiver (printed by `runStage`, followed by the transport settings). */
export const USAGE = `Usage: node services/billing-receiver/src/main.ts

Watches X12_INBOX_DIR for X12 files (837P, 837I, 835; by suffix, default .x12,.edi,.837,.835).
A file is read once complete (its <name>.done marker exists, or its size has not moved for
X12_STABLE_MS). Its envelope is checked whole (ISA/IEA, GS/GE, ST/SE control numbers and counts);
a refused file is encrypted into quarantine/ with its reason and an ehr.quarantine record, and
the plaintext removed. An accepted file is written to ehr.raw (format X12, one record per
transaction set, encrypted, acks=all) in Kafka transactions with a checkpoint in Redis after each,
so a restart resumes where it stopped; sets already known (sender + ISA13 + GS06 + ST02) are not
written again. The file then moves to done/. TA1 and 999 acknowledgments go to X12_OUTBOX_DIR.
Serves GET /healthz, /readyz and /metrics on HTTP_PORT. Configuration from the environment:

  KAFKA_BROKERS, SCHEMA_REGISTRY_URL, REDIS_URL, PHI_KEYRING, PSEUDONYM_KEY   required
  X12_SOURCE_ID, X12_INBOX_DIR, X12_OUTBOX_DIR                                 required
  HTTP_PORT (0 = any), LOG_LEVEL, EHRFLOW_MODE, SHUTDOWN_TIMEOUT_MS
  X12_SUFFIXES, X12_POLL_MS, X12_STABLE_MS, X12_REQUIRE_MARKER
  X12_MAX_FILE_BYTES, X12_MAX_SEGMENT_BYTES, X12_BATCH_SETS, X12_DEDUPE_WINDOW_MS
  X12_RAW_TOPIC, X12_QUARANTINE_TOPIC, X12_TRANSACTIONAL_ID, X12_ACK_QUALIFIER, X12_ACK_ID
TLS to Redis: REDIS_URL=rediss://... with REDIS_TLS_CA (Kafka and registry transport: below).

ehr.raw-value and ehr.quarantine-value must be registered (npm run schemas -- register).
See services/billing-receiver/README.md.
`;
