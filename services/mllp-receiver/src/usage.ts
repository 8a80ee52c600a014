/** What `node services/mllp-receiver/src/main.ts --help` prints. */
export const USAGE = `Usage: node services/mllp-receiver/src/main.ts

Listens for HL7 v2 over MLLP (TCP, or TLS with MLLP_TLS_CERT_FILE and MLLP_TLS_KEY_FILE), writes
each message as an encrypted raw envelope (format HL7V2) to ehr.raw with acks=all and only then
ACKs it (AA, or CA in enhanced mode per MSH-15/16). Resends are deduplicated in Redis by
(sending application, facility, MSH-10) and ACKed again. Batches (FHS/BHS ... BTS/FTS) are
written whole in one Kafka transaction, or refused whole into ehr.quarantine with an alert.
Serves GET /healthz, /readyz and /metrics on HTTP_PORT. Configuration from the environment:

  KAFKA_BROKERS, SCHEMA_REGISTRY_URL, REDIS_URL, PHI_KEYRING, PSEUDONYM_KEY, MLLP_SOURCE_ID   required
  HTTP_PORT (0 = any), LOG_LEVEL, EHRFLOW_MODE, SHUTDOWN_TIMEOUT_MS
  MLLP_PORT (2575), MLLP_HOST, MLLP_TLS_CERT_FILE, MLLP_TLS_KEY_FILE, MLLP_TLS_CLIENT_CA_FILE (mutual TLS)
  MLLP_MAX_MESSAGE_BYTES, MLLP_IDLE_TIMEOUT_MS, MLLP_READ_TIMEOUT_MS
  MLLP_MAX_CONNECTIONS_PER_SENDER, MLLP_MAX_CONNECTIONS, MLLP_MAX_QUEUED_PER_CONNECTION
  MLLP_MAX_PENDING, MLLP_PRODUCERS, MLLP_MAX_SEND_BATCH, MLLP_DEDUPE_WINDOW_MS
  MLLP_RAW_TOPIC, MLLP_QUARANTINE_TOPIC, MLLP_TRANSACTIONAL_ID
  MLLP_DROP_DIR, MLLP_DROP_POLL_MS (batch files *.hl7 dropped in a folder; done/ and rejected/ beside them)
  MLLP_ACK_APPLICATION, MLLP_ACK_FACILITY, MLLP_PROCESSING_IDS
  ALERT_FILE, ALERT_LOG_FALLBACK
TLS to Kafka and Redis: KAFKA_SSL, KAFKA_SSL_CA, KAFKA_SASL_*; REDIS_URL=rediss://... with REDIS_TLS_CA.

ehr.raw-value and ehr.quarantine-value must be registered (npm run schemas -- register).
See services/mllp-receiver/README.md.
`;
