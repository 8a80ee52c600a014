/** What `node services/redactor/src/main.ts --help` prints. */
export const USAGE = `Usage: node services/redactor/src/main.ts

Runs the redactor: ehr.valid.<Type> → decrypt PHI fields → de-identify under the policy →
ehr.clean.<Type> (schema derived from the contract and the policy), or ehr.quarantine for a record
that cannot be processed; ehr.valid.deletions → logical id pseudonymised as the type's logicalId →
ehr.clean.deletions (topics: <prefix>deletions). Configuration comes from the environment only:

  KAFKA_BROKERS, SCHEMA_REGISTRY_URL, PHI_KEYRING, PSEUDONYM_KEY   required
  HTTP_PORT (0 = any), LOG_LEVEL, EHRFLOW_MODE, SHUTDOWN_TIMEOUT_MS
  KAFKA_SSL, KAFKA_SSL_CA, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD(_FILE)
  REDACTOR_POLICY          safe-harbor (default) | limited-data-set | path to a policy JSON file
  REDACTOR_DELIVERY        at-least-once (default) | transactional
  REDACTOR_GROUP_ID, REDACTOR_TRANSACTIONAL_ID, REDACTOR_MAX_BATCH (500 records per chunk)
  REDACTOR_MAX_INFLIGHT_BYTES      input bytes in flight: fetch size and chunk cut (default 4 MiB);
                                   metric ehrflow_redactor_consumer{stat="inFlightBytes"|"peakInFlightBytes"}
  REDACTOR_MAX_OUTPUT_BYTES        ceiling on an output record; each output topic's max.message.bytes
                                   less 16 KiB is read from the broker (1 MiB - 16 KiB if it cannot
                                   be); a larger clean record is quarantined (too_large). Default: no
                                   ceiling
  REDACTOR_WORKERS                 worker threads for de-identification (default 0 = main thread);
                                   outputs and commits stay in input order per partition, a failed
                                   worker fails the chunk (WORKER_FAILED, retried) and commits nothing
  REDACTOR_WORKER_HEAP_MB          heap limit of each worker thread (V8's default when unset)
  REDACTOR_VALID_TOPIC_PREFIX (ehr.valid.), REDACTOR_CLEAN_TOPIC_PREFIX (ehr.clean.)
  REDACTOR_QUARANTINE_TOPIC (ehr.quarantine), REDACTOR_RESOURCE_TYPES (comma list)
  REDACTOR_PATIENT_DIRECTORY_SIZE  patients remembered to scrub their names from other records'
                                   notes (default 100000; 0 = off: every non-Patient note withheld);
                                   held packed, about 300 bytes a patient
  REDACTOR_DIRECTORY_COMPILED_PATIENTS  of those, patients whose matcher stays compiled (default
                                   10000, about 2 KB each; the others are compiled again when needed)
  REDIS_URL                        shares the directory across replicas and restarts as keyed
                                   digests (no PHI in Redis); unset = this process's memory only
  REDACTOR_DIRECTORY_KEY_PREFIX (ehrflow:redactor:directory:), REDACTOR_DIRECTORY_TTL_SECONDS (90 days)
                                   directory size: ehrflow_redactor_patient_directory_patients{measure}

Free text (notes) is published scrubbed — patterns, the patient's identifiers, and every person's
name (context, name dictionaries, capitalised words; see libs/deid/README.md) — only for records
whose patient the directory knows and whose residual risk is within the policy's threshold;
otherwise it becomes [WITHHELD] (ehrflow_redactor_free_text_withheld_total{type,reason}).

The service refuses to start when a key is missing, the policy does not compile against the
registered valid contracts, or a clean schema (deletions included) is not registered. Register the
clean schemas first:
  node services/redactor/src/cli.ts register-schemas [--policy P]
`;
