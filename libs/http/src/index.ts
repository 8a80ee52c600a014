export {
  createHttpClient,
  type HttpClient,
  type HttpClientOptions,
  type HttpCounters,
  type HttpMethod,
  type JsonResponse,
  type NdjsonOptions,
  type RawResponse,
  type RequestOptions,
  type ResponseHeaders,
} from './client.ts';
export { fromNetworkError, fromStatus, isUsableStatus, networkErrorCode } from './http-errors.ts';
export { silentLogger, type HttpLogger } from './logger.ts';
export {
  continueFrom,
  resumeHeaders,
  splitNdjson,
  validatorOf,
  type NdjsonLine,
  type NdjsonPosition,
  type ResumedRead,
  type SplitOptions,
} from './ndjson.ts';
export {
  createRateLimiter,
  type AcquireAttempt,
  type AcquireOptions,
  type Priority,
  type RateLimiter,
  type RateLimiterOptions,
  type SharedRateLimiter,
  type ThrottleOutcome,
} from './rate-limiter.ts';
export {
  EPOCH_SECONDS_FROM,
  parseHttpDate,
  parseRetryAfter,
  type RetryAfter,
  type RetryAfterForm,
} from './retry-after.ts';
export { createPoolCache, type PoolCache, type PoolOptions } from './pools.ts';
export { routeOf } from './route.ts';
export {
  createTokenRequester,
  undiciTokenFetch,
  type IssuedToken,
  type TokenAuth,
  type TokenEndpointOptions,
  type TokenFetch,
  type TokenRequest,
  type TokenResponse,
} from './token-endpoint.ts';
export {
  createTokenProvider,
  type TokenCipher,
  type TokenProvider,
  type TokenProviderOptions,
} from './token-provider.ts';
export {
  CLIENT_KEY_ALGS,
  generateClientKey,
  readClientKey,
  type ClientKey,
  type ClientKeyAlg,
  type ClientKeyResult,
  type GeneratedClientKey,
} from './client-keys.ts';
export {
  discoverSmartConfiguration,
  smartConfigurationUrl,
  SmartDiscoveryError,
  undiciDiscoveryFetch,
  type DiscoveryFetch,
  type DiscoveryProblem,
  type DiscoveryResponse,
  type SmartConfiguration,
} from './smart-discovery.ts';
