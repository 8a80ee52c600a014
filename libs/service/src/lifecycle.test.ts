import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const FIXTURE = fileURLToPath(new URL('./lifecycle.fixture.ts', import.meta.url));
const BOUND_MS = 10_000;
const FIXTURE_CANARY = 'Janedoe Canaryroe';

/** pino's numeric levels. */
const FATAL = 60;
const ERROR = 50;

interface LogLine {
  readonly level: number;
  readonly msg?: string;
  readonly event?: string;
  readonly [key: string]: unknown;
}

interface Fixture {
  readonly lines: LogLine[];
  readonly output: () => string;
  waitForLine(predicate: (line: LogLine) => boolean): Promise<LogLine>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
}

const children: { kill(): void }[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill();
});

function startFixture(mode: string): Fixture {
  const child = spawn(process.execPath, [FIXTURE, mode, FIXTURE_CANARY], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push({ kill: () => child.kill('SIGKILL') });
  const lines: LogLine[] = [];
  let raw = '';
  let pending = '';
  const waiters: { predicate: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    raw += chunk;
    pending += chunk;
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    for (const part of parts) {
      if (part.trim() === '') continue;
      const parsed = JSON.parse(part) as LogLine;
      lines.push(parsed);
      for (const waiter of waiters.filter((w) => w.predicate(parsed))) waiter.resolve(parsed);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    raw += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    lines,
    output: () => raw,
    exited: bounded(exited, 'fixture exit'),
    kill: (signal) => child.kill(signal),
    waitForLine: (predicate) => {
      const seen = lines.find(predicate);
      if (seen !== undefined) return Promise.resolve(seen);
      return bounded(new Promise<LogLine>((resolve) => waiters.push({ predicate, resolve })), 'log line');
    },
  };
}

/** Rejects when `promise` has not settled within BOUND_MS, naming what was awaited. */
function bounded<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), BOUND_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('runService', () => {
  it('drains on SIGTERM: readiness off, stop called, exit 0', async () => {
    const fixture = startFixture('ok');
    await fixture.waitForLine((l) => l.event === 'running');
    fixture.kill('SIGTERM');
    const { code } = await fixture.exited;

    expect(code).toBe(0);
    const stop = fixture.lines.find((l) => l.event === 'stop-called');
    expect(stop?.readyz).toBe(503);
    expect(fixture.lines.map((l) => l.msg)).toEqual(
      expect.arrayContaining(['shutdown requested; draining', 'service stopped']),
    );
    expect(fixture.lines.find((l) => l.msg === 'shutdown requested; draining')?.trigger).toBe('SIGTERM');
  });

  it('drains on SIGINT the same way', async () => {
    const fixture = startFixture('ok');
    await fixture.waitForLine((l) => l.event === 'running');
    fixture.kill('SIGINT');
    expect((await fixture.exited).code).toBe(0);
    expect(fixture.lines.some((l) => l.event === 'stop-called')).toBe(true);
  });

  it('exits 1 when stop fails, logging the error without its message', async () => {
    const fixture = startFixture('fail');
    await fixture.waitForLine((l) => l.event === 'running');
    fixture.kill('SIGTERM');
    expect((await fixture.exited).code).toBe(1);
    const fatal = fixture.lines.find((l) => l.msg === 'shutdown failed; exiting');
    expect(fatal?.level).toBe(FATAL);
    // The PipelineError's own message is kept; the foreign cause keeps its type only.
    expect(fatal?.err).toMatchObject({
      type: 'PipelineError',
      code: 'KAFKA_UNAVAILABLE',
      message: 'producer flush failed',
      cause: { type: 'Error', message: expect.stringContaining('message omitted') },
    });
    expect(fixture.output()).not.toContain(FIXTURE_CANARY);
  });

  it('exits 1 when the drain outlives the shutdown timeout', async () => {
    const fixture = startFixture('hang');
    await fixture.waitForLine((l) => l.event === 'running');
    fixture.kill('SIGTERM');
    expect((await fixture.exited).code).toBe(1);
    expect(fixture.lines.find((l) => l.msg === 'shutdown timed out; exiting')?.level).toBe(ERROR);
    expect(fixture.lines.some((l) => l.msg === 'service stopped')).toBe(false);
  });

  it('exits 1 on an unhandled rejection, without the rejection message', async () => {
    const fixture = startFixture('reject');
    expect((await fixture.exited).code).toBe(1);
    const fatal = fixture.lines.find((l) => l.msg === 'unhandled promise rejection; exiting');
    expect(fatal?.level).toBe(FATAL);
    expect(fatal?.err).toMatchObject({ type: 'Error', message: expect.stringContaining('message omitted') });
    expect(fatal?.err).toHaveProperty('stack', expect.stringMatching(/\n\s+at /));
    expect(fixture.output()).not.toContain(FIXTURE_CANARY);
  });

  it('exits 1 when start fails, without a stack trace carrying the message', async () => {
    const fixture = startFixture('start-fail');
    expect((await fixture.exited).code).toBe(1);
    expect(fixture.lines.find((l) => l.msg === 'service failed to start; exiting')?.level).toBe(FATAL);
    expect(fixture.output()).not.toContain(FIXTURE_CANARY);
  });
});
