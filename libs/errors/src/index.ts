export { ERROR_CATALOG, type CatalogEntry, type ErrorClass, type ErrorCode } from './catalog.ts';
export {
  PipelineError,
  isPipelineError,
  isProgrammerError,
  isRetryable,
  isRetryableClass,
  type ErrorContext,
  type PipelineErrorOptions,
} from './pipeline-error.ts';
export { TRANSIENT_NETWORK_CODES } from './network-codes.ts';
