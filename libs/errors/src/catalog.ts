/**
 * The one error catalog of the product. Every error the pipeline raises on purpose has a stable
 * code listed here, a class of failure that says what the caller does about it, and a line of
 * documentation, and the HTTP status an API answers with. `docs/errors.md` is generated from it
 * (`npm run errors:doc`); `catalog.test.ts` proves every code is raised in production code and
 * documented there.
 *
 * Classes:
 * - `auth`: credentials rejected; refresh and retry once, then fail the job loudly.
 * - `rate_limited`: the source asked us to slow down; wait (the error carries how long) and retry.
 * - `transient`: network trouble, 5xx, broker unavailable; back off with jitter and retry.
 * - `contract`: a record breaks its data contract; quarantine it and keep going.
 * - `permanent`: retrying cannot help; fail the job or refuse to start.
 */
export type ErrorClass = 'auth' | 'rate_limited' | 'transient' | 'contract' | 'permanent';

export interface CatalogEntry {
  readonly errorClass: ErrorClass;
  /**
   * The status an HTTP interface of the product (a service's admin API, a tool's API) answers with
   * when this error reaches a client: 4xx when the request or the record is at fault, 502 when a
   * source or dependency refused, 503 when it is unavailable and a retry may succeed, 500 for a
   * fault of this deployment.
   */
  readonly httpStatus: number;
  readonly doc: string;
}

export const ERROR_CATALOG = {
  CONFIG_INVALID: {
    errorClass: 'permanent',
    httpStatus: 400,
    doc: 'Configuration failed validation at start-up.',
  },
  KEY_MISSING: {
    errorClass: 'permanent',
    httpStatus: 500,
    doc: 'An encryption or pseudonym key is missing or malformed.',
  },
  DECRYPT_FAILED: {
    errorClass: 'permanent',
    httpStatus: 500,
    doc: 'An encrypted value could not be decrypted (unknown key id or tampered data).',
  },
  AUTH_REJECTED: {
    errorClass: 'auth',
    httpStatus: 502,
    doc: 'The source rejected our credentials (invalid_client, invalid_grant, revoked).',
  },
  AUTH_EXPIRED: {
    errorClass: 'auth',
    httpStatus: 502,
    doc: 'The access token expired or was refused (HTTP 401); refresh once.',
  },
  RATE_LIMITED: {
    errorClass: 'rate_limited',
    httpStatus: 429,
    doc: 'The source answered 429; wait for Retry-After.',
  },
  RATE_LIMIT_STALLED: {
    errorClass: 'rate_limited',
    httpStatus: 503,
    doc: 'A job produced no record for the stall timeout while the source kept answering 429; it fails as rate_limited.',
  },
  HTTP_TRANSIENT: {
    errorClass: 'transient',
    httpStatus: 503,
    doc: 'A 5xx, reset, or timeout talking to a source.',
  },
  HTTP_PERMANENT: {
    errorClass: 'permanent',
    httpStatus: 502,
    doc: 'A 4xx other than 401/429 from a source.',
  },
  RETRIES_EXHAUSTED: {
    errorClass: 'permanent',
    httpStatus: 503,
    doc: 'A retryable operation failed on every attempt.',
  },
  WORKER_FAILED: {
    errorClass: 'transient',
    httpStatus: 503,
    doc: 'A worker thread failed or exited while processing a chunk; the chunk is retried whole and nothing of it is committed.',
  },
  KAFKA_UNAVAILABLE: {
    errorClass: 'transient',
    httpStatus: 503,
    doc: 'The Kafka cluster could not be reached.',
  },
  TOPIC_LIMIT_CHANGED: {
    errorClass: 'transient',
    httpStatus: 503,
    doc: "Kafka refused a stage's produce as too large, and the output topic's max.message.bytes, read again, is lower than the limit the chunk was encoded under (an operator lowered it): the chunk is retried under the new limit, its larger outputs quarantined (reason too_large).",
  },
  REGISTRY_UNAVAILABLE: {
    errorClass: 'transient',
    httpStatus: 503,
    doc: 'The schema registry could not be reached.',
  },
  SCHEMA_NOT_REGISTERED: {
    errorClass: 'permanent',
    httpStatus: 500,
    doc: 'A subject the service needs has no registered schema (services never auto-register in production).',
  },
  SCHEMA_INCOMPATIBLE: {
    errorClass: 'permanent',
    httpStatus: 409,
    doc: 'A schema change breaks the compatibility rule of its subject.',
  },
  SCHEMA_MISMATCH: {
    errorClass: 'contract',
    httpStatus: 422,
    doc: 'A record does not match the registered schema of its subject; it is refused at produce time.',
  },
  PARSE_ERROR: {
    errorClass: 'contract',
    httpStatus: 400,
    doc: 'A payload could not be parsed in its declared format.',
  },
  MISSING_REQUIRED: {
    errorClass: 'contract',
    httpStatus: 422,
    doc: 'A field the contract requires is absent.',
  },
  UNKNOWN_RESOURCE_TYPE: {
    errorClass: 'contract',
    httpStatus: 422,
    doc: 'No contract exists for this resource type.',
  },
  TOO_LARGE: {
    errorClass: 'contract',
    httpStatus: 413,
    doc: 'A record exceeds the configured size limit. In the extractor the resource is counted and not produced, and the job ends partial (reason records_too_large); in the validator and redactor the output is quarantined (reason too_large).',
  },
  CONTRACT_VIOLATION: {
    errorClass: 'contract',
    httpStatus: 422,
    doc: 'A record breaks a field rule of its contract.',
  },
  POLICY_INVALID: {
    errorClass: 'permanent',
    httpStatus: 500,
    doc: 'A de-identification policy names an unknown field or method.',
  },
  JOB_CANCELLED: { errorClass: 'permanent', httpStatus: 409, doc: 'The job was cancelled by an operator.' },
  JOB_FAILED: {
    errorClass: 'permanent',
    httpStatus: 500,
    doc: 'A job could not complete; its reason says why.',
  },
  EXPORT_EXPIRED: {
    errorClass: 'permanent',
    httpStatus: 502,
    doc: 'A bulk export kept expiring: its status URL or files answered 404/410 on every one of EXTRACTOR_MAX_EXPORT_ATTEMPTS kick-offs (job reason export_expired).',
  },
  EXPORT_ERROR_ENTRY: {
    errorClass: 'contract',
    httpStatus: 422,
    doc: 'An OperationOutcome in the error entries of an export manifest: data the source could not export. Counted per resource type and issue code; the job ends partial (reason source_errors).',
  },
  MANIFEST_COUNT_MISMATCH: {
    errorClass: 'permanent',
    httpStatus: 502,
    doc: 'An export file kept holding a different number of lines than its manifest count, each time it was read again from its start (job reason manifest_mismatch).',
  },
  JOB_UNRECONCILED: {
    errorClass: 'permanent',
    httpStatus: 500,
    doc: 'A job read every file but its counts do not add up (read = produced + deleted + errors + duplicates): a bug, reported instead of a false completed (job reason unreconciled).',
  },
  JOB_STATE_CONFLICT: {
    errorClass: 'permanent',
    httpStatus: 409,
    doc: 'A job operation does not fit the job state: resume needs a failed or cancelled job, retry-failed a partial one (HTTP 409).',
  },
  SHUTDOWN: {
    errorClass: 'permanent',
    httpStatus: 503,
    doc: 'The process is draining and refuses new work.',
  },
  KAFKA_REJECTED: {
    errorClass: 'permanent',
    httpStatus: 500,
    doc: 'Kafka refused a request that retrying cannot fix (authentication, authorisation, fenced transactional producer, invalid request).',
  },
  DRAIN_TIMEOUT: {
    errorClass: 'permanent',
    httpStatus: 503,
    doc: 'In-flight work did not finish within the shutdown timeout; its uncommitted input is redelivered after restart.',
  },
  METRIC_LABEL_REFUSED: {
    errorClass: 'permanent',
    httpStatus: 500,
    doc: 'A metric label name is on the PHI deny list, or a label value fails the safe pattern (the value is never echoed).',
  },
  REDIS_UNAVAILABLE: {
    errorClass: 'transient',
    httpStatus: 503,
    doc: 'Redis (shared rate limiter, token refresh lock) could not be reached; back off and retry.',
  },
  SCHEMA_INVALID: {
    errorClass: 'permanent',
    httpStatus: 422,
    doc: 'A schema file, the schema manifest or a registered schema is not valid Avro or breaks a contract attribute rule.',
  },
  REGISTRY_REJECTED: {
    errorClass: 'permanent',
    httpStatus: 502,
    doc: 'The schema registry refused a request (4xx other than not-found or incompatible); retrying cannot help.',
  },
  FORMAT_UNSUPPORTED: {
    errorClass: 'contract',
    httpStatus: 415,
    doc: 'The raw format has no parser yet (HL7 v2 and X12 are seams); the record is quarantined and can be replayed once one ships.',
  },
  DATABASE_UNAVAILABLE: {
    errorClass: 'transient',
    httpStatus: 503,
    doc: 'The warehouse database could not be reached, dropped the connection or asked for a retry (serialization failure, deadlock); back off and retry the batch.',
  },
  DATABASE_REJECTED: {
    errorClass: 'permanent',
    httpStatus: 500,
    doc: 'The warehouse database refused a statement for a reason retrying cannot fix (SQL state in the context, never a value).',
  },
  TABLE_INCOMPATIBLE: {
    errorClass: 'permanent',
    httpStatus: 500,
    doc: 'A registered clean schema cannot be applied to its warehouse table (a column type changed, a required field was removed or added); the loader refuses to start.',
  },
} as const satisfies Record<string, CatalogEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOG;
