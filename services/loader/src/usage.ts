/** What `node services/loader/src/main.ts --help` prints. */
export const USAGE = `Usage: node services/loader/src/main.ts

Loads ehr.clean.<Type> into PostgreSQL: one table per resource type, newest version wins,
ehr.clean.deletions as tombstones in the table of each deletion's type, rows and consumer
positions in one transaction. Exits non-zero when a registered clean schema
cannot be applied to its table (the message names table, column and change).

Environment:
  KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL   (required)
  LOADER_DB_SCHEMA        database schema of the tables (default clean)
  LOADER_GROUP_ID         consumer group and key of the stored positions (default ehrflow-loader)
  LOADER_TOPIC_PREFIX     topics are <prefix><Type> and <prefix>deletions (default ehr.clean.)
  LOADER_RESOURCE_TYPES   comma-separated types (default: every contracted type)
  LOADER_WRITE_MODE       staging (COPY + merge, default) | multirow
  LOADER_MAX_BATCH        records per transaction (default 2000)
  LOADER_CONCURRENCY      partitions loaded at once (default 2)
  DATABASE_POOL_MAX       database connections (default 4)
  HTTP_PORT               health/readiness/metrics (default 8084)
  LOG_LEVEL, EHRFLOW_MODE, SHUTDOWN_TIMEOUT_MS, KAFKA_SSL*, KAFKA_SASL*, PG_SSL_CA
`;
