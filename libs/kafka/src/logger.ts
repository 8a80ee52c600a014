/**
 * The slice of a pino logger this package needs. `@ehrflow/logging`'s `createLogger()` returns a
 * pino Logger, which satisfies it; tests pass a small recording fake.
 *
 * Only objects of ids, codes and counts are ever passed as the first argument — never a record.
 */
export interface KafkaLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): KafkaLogger;
  /** pino's level check; when present, kafkajs debug logging is enabled only if it says so. */
  isLevelEnabled?(level: string): boolean;
}
