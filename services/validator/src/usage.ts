/** What `node services/validator/src/main.ts --help` prints. */
export const USAGE = `Usage: node services/validator/src/main.ts

Runs the validator: ehr.raw → decrypt → parse → map to the latest registered contract →
ehr.valid.<Type> (PHI fields encrypted) or ehr.quarantine; DELETE envelopes → ehr.valid.deletions
(logical id encrypted); drift events to ehr.drift; alerts to ALERT_WEBHOOK_URL and/or ALERT_FILE.
Configuration comes from the environment only:

  KAFKA_BROKERS, SCHEMA_REGISTRY_URL, PHI_KEYRING, PSEUDONYM_KEY   required
  HTTP_PORT (0 = any), LOG_LEVEL, EHRFLOW_MODE, SHUTDOWN_TIMEOUT_MS
  VALIDATOR_DELIVERY at-least-once | transactional (default at-least-once)
  VALIDATOR_GROUP_ID, VALIDATOR_TRANSACTIONAL_ID, VALIDATOR_MAX_BATCH (500 records per chunk)
  VALIDATOR_MAX_INFLIGHT_BYTES  input bytes in flight: fetch size and chunk cut (default 4 MiB);
                                metric ehrflow_validator_consumer{stat="inFlightBytes"|"peakInFlightBytes"}
  VALIDATOR_MAX_OUTPUT_BYTES    ceiling on an output record; each output topic's max.message.bytes less
                                16 KiB is read from the broker (1 MiB - 16 KiB if it cannot be); a
                                larger valid record is quarantined (too_large). Default: no ceiling
  VALIDATOR_WORKERS             worker threads for FHIR envelopes (default 0 = main thread); outputs
                                and commits stay in input order per partition, a failed worker fails
                                the chunk (WORKER_FAILED, retried) and commits nothing
  VALIDATOR_WORKER_HEAP_MB      heap limit of each worker thread (V8's default when unset)
  VALIDATOR_RAW_TOPIC, VALIDATOR_VALID_TOPIC_PREFIX (deletions: <prefix>deletions)
  VALIDATOR_QUARANTINE_TOPIC, VALIDATOR_DRIFT_TOPIC
  VALIDATOR_RESOURCE_TYPES (comma list), VALIDATOR_SCHEMA_REFRESH_MS, VALIDATOR_MAX_PAYLOAD_BYTES
  VALIDATOR_FILL_RATE_WINDOW, VALIDATOR_DRIFT_REPORT_MS
  VALIDATOR_FILL_RATE_EXPECTED baseline | contract (default baseline), VALIDATOR_BASELINES_DIR
    (default schemas/baselines: accepted baselines, <source>.json, from npm run schemas -- baseline)
  VALIDATOR_QUARANTINE_SPIKE, VALIDATOR_QUARANTINE_SPIKE_WINDOW_MS
  ALERT_WEBHOOK_URL, ALERT_WEBHOOK_TIMEOUT_MS, ALERT_FILE, ALERT_WINDOW_MS, ALERT_GATHER_MS
  VALIDATOR_HL7_MAPPING (default schemas/hl7/v2-mapping.json): HL7 v2 messages → contracts
  VALIDATOR_X12_MAPPING (default schemas/x12/mapping.json): X12 837/835 transaction sets → contracts
  REDIS_URL, REDIS_TLS_CA   alert de-duplication shared by replicas (per replica without)

Every served contract (ehr.valid.<Type>-value) and ehr.valid.deletions-value must be registered:
the service refuses to start otherwise (register with: npm run schemas -- register). See services/validator/README.md.
`;
