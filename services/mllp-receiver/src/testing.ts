import { createLogger, type Logger } from '@ehrflow/logging';
import { createKeyring } from '@ehrflow/phi';
import type { OutgoingMessage } from '@ehrflow/kafka';
import { waitFor as sharedWaitFor } from '@ehrflow/testing';
import type { BatchAlert } from './alerts.ts';
import type { DedupeWindow } from './dedupe.ts';
import { createIngest, type Ingest } from './ingest.ts';
import type { GroupWriter } from './writer.ts';

/** Test helpers: a log capture, an in-memory dedupe window and a writer whose writes a test releases. */

export function captureLogger(): { logger: Logger; text: () => string } {
  const lines: string[] = [];
  const logger = createLogger({
    name: 'mllp-receiver-test',
    level: 'debug',
    destination: { write: (l: string) => void lines.push(l) },
  });
  return { logger, text: () => lines.join('') };
}

export function memoryDedupe(): DedupeWindow & { readonly keys: Set<string> } {
  const keys = new Set<string>();
  return {
    keys,
    seen: (digests) => Promise.resolve(digests.map((d) => keys.has(d))),
    remember: (digests) => {
      for (const d of digests) keys.add(d);
      return Promise.resolve();
    },
  };
}

/** A writer that holds every write until `release()` (or fails them with `fail()`). */
export function heldWriter(): GroupWriter & {
  readonly written: OutgoingMessage[];
  readonly atomic: OutgoingMessage[][];
  hold: boolean;
  release(): void;
  fail(err: unknown): void;
  waiting(): number;
} {
  const held: {
    messages: readonly OutgoingMessage[];
    atomic: boolean;
    resolve(): void;
    reject(e: unknown): void;
  }[] = [];
  const written: OutgoingMessage[] = [];
  const atomic: OutgoingMessage[][] = [];
  const take = (messages: readonly OutgoingMessage[], isAtomic: boolean, self: { hold: boolean }) =>
    new Promise<void>((resolve, reject) => {
      const entry = { messages, atomic: isAtomic, resolve, reject };
      if (self.hold) held.push(entry);
      else commit(entry);
    });
  const commit = (e: (typeof held)[number]) => {
    if (e.atomic) atomic.push([...e.messages]);
    else written.push(...e.messages);
    e.resolve();
  };
  const self = {
    written,
    atomic,
    hold: false,
    write: (m: readonly OutgoingMessage[]) => take(m, false, self),
    writeAtomic: (m: readonly OutgoingMessage[]) => take(m, true, self),
    overloaded: () => held.length > 0 && self.hold,
    whenRoom: () => Promise.resolve(),
    get pending() {
      return held.length;
    },
    idle: () => Promise.resolve(),
    release() {
      for (const e of held.splice(0)) commit(e);
    },
    fail(err: unknown) {
      for (const e of held.splice(0)) e.reject(err);
    },
    waiting: () => held.length,
  };
  return self;
}

export const TEST_KEYRING = createKeyring([['k1', Buffer.alloc(32, 1)]]);
export const TEST_PSEUDONYM_KEY = Buffer.alloc(32, 2);

export interface TestIngest {
  readonly ingest: Ingest;
  readonly writer: ReturnType<typeof heldWriter>;
  readonly dedupe: ReturnType<typeof memoryDedupe>;
  readonly quarantined: OutgoingMessage[];
  readonly alerts: BatchAlert[];
  readonly logs: () => string;
  readonly logger: Logger;
}

export function testIngest(): TestIngest {
  const writer = heldWriter();
  const dedupe = memoryDedupe();
  const quarantined: OutgoingMessage[] = [];
  const alerts: BatchAlert[] = [];
  const { logger, text } = captureLogger();
  const ingest = createIngest({
    envelopes: { sourceId: 'sim-feed', keyring: TEST_KEYRING, pseudonymKey: TEST_PSEUDONYM_KEY },
    writer,
    dedupe,
    quarantine: (m) => {
      quarantined.push(m);
      return Promise.resolve();
    },
    alerts: {
      send: (a) => {
        alerts.push(a);
        return Promise.resolve();
      },
    },
    logger,
    ackApplication: 'EHRFLOW',
    ackFacility: 'HUB',
    processingIds: new Set(['P', 'T']),
  });
  return { ingest, writer, dedupe, quarantined, alerts, logs: text, logger };
}

/** Waits until `check()` holds, polling every 10 ms; fails after `ms` (the shared bounded wait with this package's defaults). */
export function waitFor(check: () => boolean, ms = 5_000): Promise<void> {
  return sharedWaitFor(check, { what: 'the condition', timeoutMs: ms, intervalMs: 10 });
}
