import type { DestinationStream } from 'pino';

/** A destination that keeps every line pino writes, for assertions. Test helper only. */
export interface Capture extends DestinationStream {
  readonly lines: string[];
  /** Every line parsed as JSON. */
  entries(): Record<string, unknown>[];
  /** All output as one string. */
  text(): string;
}

export function captureStream(): Capture {
  const lines: string[] = [];
  return {
    lines,
    write(line: string): void {
      lines.push(line);
    },
    entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    text: () => lines.join(''),
  };
}
