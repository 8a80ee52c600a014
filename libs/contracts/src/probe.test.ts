import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipelineError } from '@ehrflow/errors';
import { createRegistryProbe } from './probe.ts';

type Answer = { status: number; body?: unknown; hang?: boolean };

/** A tiny HTTP stand-in for the registry; each test sets how it answers. */
let answer: Answer = { status: 500 };
let seen: { url?: string; auth?: string }[] = [];
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push({ url: req.url, auth: req.headers.authorization });
    if (answer.hang === true) return;
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `127.0.0.1:${(server.address() as AddressInfo).port}/apis/ccompat/v7`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function failure(p: Promise<unknown>): Promise<PipelineError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PipelineError);
  return err as PipelineError;
}

async function withProbe(url: string, fn: (probe: ReturnType<typeof createRegistryProbe>) => Promise<void>) {
  const probe = createRegistryProbe({ url, timeoutMs: 300 });
  try {
    await fn(probe);
  } finally {
    await probe.close();
  }
}

describe('createRegistryProbe', () => {
  it('asks GET /config and resolves on the compatibility answer', async () => {
    answer = { status: 200, body: { compatibilityLevel: 'BACKWARD' } };
    seen = [];
    await withProbe(`http://${base}`, (probe) => probe.probe());
    expect(seen.map((s) => s.url)).toEqual(['/apis/ccompat/v7/config']);
  });

  it('sends URL credentials as basic auth and keeps them out of the error', async () => {
    answer = { status: 401, body: { error_code: 40101, message: 'Unauthorized' } };
    seen = [];
    await withProbe(`http://probe-user:s3cret-pw@${base}`, async (probe) => {
      const err = await failure(probe.probe());
      expect(err.code).toBe('REGISTRY_REJECTED');
      expect(JSON.stringify({ message: err.message, context: err.context })).not.toContain('s3cret-pw');
    });
    expect(seen[0]?.auth).toBe(`Basic ${Buffer.from('probe-user:s3cret-pw').toString('base64')}`);
  });

  it.each([
    ['a 5xx', { status: 503, body: { error_code: 50301, message: 'down' } }],
    ['an unexpected answer', { status: 200, body: { something: 'else' } }],
    ['no answer in time', { status: 200, hang: true }],
  ] as const)('rejects with REGISTRY_UNAVAILABLE on %s', async (_name, a: Answer) => {
    answer = a;
    await withProbe(`http://${base}`, async (probe) => {
      expect((await failure(probe.probe())).code).toBe('REGISTRY_UNAVAILABLE');
    });
  });

  it('rejects with REGISTRY_UNAVAILABLE when nothing listens', async () => {
    await withProbe('http://127.0.0.1:1/apis/ccompat/v7', async (probe) => {
      const err = await failure(probe.probe());
      expect(err.code).toBe('REGISTRY_UNAVAILABLE');
      expect(err.context).toMatchObject({ reason: 'ECONNREFUSED' });
    });
  });
});
