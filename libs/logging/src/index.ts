export { createLogger, type CreateLoggerOptions, type Logger } from './logger.ts';
export { SAFE_CONTEXT_KEYS, serializeError, type SerializedError } from './serialize-error.ts';
export { isOmittedKey } from './omitted-keys.ts';
