/**
 * The slice of a pino logger this package uses, so it does not depend on how the logger is built:
 * a `Logger` from `@ehrflow/logging` fits as is. Objects passed here hold method, route template,
 * status, durations, counts and codes only.
 */
export interface HttpLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** A logger that drops everything (the default when a caller passes none). */
export const silentLogger: HttpLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
};
