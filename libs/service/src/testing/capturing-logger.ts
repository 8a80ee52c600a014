import { createLogger, type Logger } from '@ehrflow/logging';

/** A logger whose lines a test reads back, parsed; `text()` is all of them as one JSON string. */
export function capturingLogger(name = 'service-test'): {
  logger: Logger;
  lines: Record<string, unknown>[];
  text: () => string;
} {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    name,
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  return { logger, lines, text: () => JSON.stringify(lines) };
}
