/** What `node services/extractor/src/main.ts --help` prints. */
export const USAGE = `Usage: node services/extractor/src/main.ts

Runs the extractor service: resumes jobs left running by a crashed replica, and serves on HTTP_PORT
  GET /healthz, GET /readyz, GET /metrics
  POST /jobs {source, kind: backfill|incremental, types?, since?}  → 202 with the job
  GET /jobs/:id                                                    → state, counts, errors by code
  DELETE /jobs/:id                                                 → cancel
  (/jobs needs Authorization: Bearer <EXTRACTOR_ADMIN_TOKEN(_FILE)> when that is set; 10 failures
  per address and minute → 429)

Configuration comes from the environment (see services/extractor/README.md and
docs/onboarding-a-source.md; a source without tokenUrl has it found by SMART discovery):
  EXTRACTOR_SOURCES_FILE, KAFKA_BROKERS, SCHEMA_REGISTRY_URL, REDIS_URL, DATABASE_URL,
  PHI_KEYRING, PSEUDONYM_KEY, HTTP_PORT, LOG_LEVEL, EHRFLOW_MODE, and the EXTRACTOR_* tuning variables.
TLS in transit (plaintext outside EHRFLOW_MODE=development is logged as a warning):
  KAFKA_SSL, KAFKA_SSL_CA, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD(_FILE)
  REDIS_URL=rediss://... with REDIS_TLS_CA; DATABASE_URL with sslmode=verify-full and PG_SSL_CA
`;
