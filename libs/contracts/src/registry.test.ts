import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipelineError } from '@ehrflow/errors';
import { createRegistry } from './registry.ts';

type Handler = (req: IncomingMessage, body: string) => { status: number; body?: unknown; delayMs?: number };

/** A tiny HTTP stand-in for the registry; each test sets how it answers. */
let handler: Handler = () => ({ status: 500 });
let seen: { method?: string; url?: string; auth?: string; body: string }[] = [];
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body });
      const answer = handler(req, body);
      const send = () => {
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
      };
      if (answer.delayMs === undefined) send();
      else setTimeout(send, answer.delayMs).unref();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/apis/ccompat/v7`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const SCHEMA = JSON.stringify({
  type: 'record',
  name: 'A',
  fields: [{ name: 'a', type: 'string', phi: 'none' }],
});

async function failure(p: Promise<unknown>): Promise<PipelineError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PipelineError);
  return err as PipelineError;
}

describe('createRegistry', () => {
  it('reads the latest version and parses its text', async () => {
    seen = [];
    handler = () => ({ status: 200, body: { subject: 's-value', version: 3, id: 17, schema: SCHEMA } });
    const registry = createRegistry({ url: base });
    const latest = await registry.latest('s-value');
    expect(latest).toMatchObject({ subject: 's-value', version: 3, id: 17, text: SCHEMA });
    expect(latest.schema.typeName).toBe('record');
    expect(seen[0]).toMatchObject({
      method: 'GET',
      url: '/apis/ccompat/v7/subjects/s-value/versions/latest',
    });
    await registry.close();
  });

  it('registers, then looks the version up', async () => {
    seen = [];
    handler = (req) =>
      req.url?.endsWith('/versions')
        ? { status: 200, body: { id: 21 } }
        : { status: 200, body: { subject: 's-value', version: 4, id: 21, schema: SCHEMA } };
    const registry = createRegistry({ url: base });
    expect(await registry.register('s-value', SCHEMA)).toEqual({ id: 21, version: 4 });
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'POST /apis/ccompat/v7/subjects/s-value/versions',
      'POST /apis/ccompat/v7/subjects/s-value',
    ]);
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual({ schemaType: 'AVRO', schema: SCHEMA });
    await registry.close();
  });

  it('maps answers to catalog codes', async () => {
    const registry = createRegistry({ url: base });
    handler = () => ({ status: 404, body: { error_code: 40401, message: 'Subject not found' } });
    expect((await failure(registry.latest('gone-value'))).code).toBe('SCHEMA_NOT_REGISTERED');
    handler = () => ({
      status: 409,
      body: {
        error_code: 409,
        message: 'io.apicurio.registry.rules.RuleViolationException: Incompatible artifact: x at /fields/0',
      },
    });
    const incompatible = await failure(registry.register('s-value', SCHEMA));
    expect(incompatible.code).toBe('SCHEMA_INCOMPATIBLE');
    expect(incompatible.message).toBe(
      'registry refused an incompatible schema for subject s-value: Incompatible artifact: x at /fields/0',
    );
    handler = () => ({ status: 422, body: { error_code: 42201, message: 'Invalid schema' } });
    expect((await failure(registry.register('s-value', SCHEMA))).code).toBe('SCHEMA_INVALID');
    handler = () => ({ status: 403, body: { message: 'forbidden' } });
    expect((await failure(registry.subjects())).code).toBe('REGISTRY_REJECTED');
    handler = () => ({ status: 503 });
    const down = await failure(registry.subjects());
    expect(down.code).toBe('REGISTRY_UNAVAILABLE');
    expect(down.retryable).toBe(true);
    handler = () => ({ status: 200, body: { unexpected: true } });
    expect((await failure(registry.latest('s-value'))).code).toBe('REGISTRY_UNAVAILABLE');
    await registry.close();
  });

  it('retries a read that failed transiently with the shared retry module, never a write', async () => {
    const fast = { retries: 2, initialMs: 1, factor: 2, maxMs: 5 };
    const registry = createRegistry({ url: base, retry: fast });
    let answers = [503, 503, 200];
    handler = () => ({ status: answers.shift() ?? 200, body: ['s-value'] });
    seen = [];
    expect(await registry.subjects()).toEqual(['s-value']);
    expect(seen).toHaveLength(3);
    // Out of retries: the caller still sees the registry's own code, not RETRIES_EXHAUSTED.
    answers = [503, 503, 503, 200];
    seen = [];
    expect((await failure(registry.subjects())).code).toBe('REGISTRY_UNAVAILABLE');
    expect(seen).toHaveLength(3);
    handler = () => ({ status: 503 });
    seen = [];
    expect((await failure(registry.register('s-value', SCHEMA))).code).toBe('REGISTRY_UNAVAILABLE');
    expect(seen).toHaveLength(1);
    await registry.close();
  });

  it('treats compatibility of a subject without versions as compatible and reads verbose messages', async () => {
    const registry = createRegistry({ url: base });
    handler = () => ({ status: 404, body: { error_code: 40401 } });
    expect(await registry.checkCompatibility('new-value', SCHEMA)).toEqual({
      compatible: true,
      messages: [],
    });
    handler = () => ({ status: 200, body: { is_compatible: false, messages: ['field a changed'] } });
    expect(await registry.checkCompatibility('s-value', SCHEMA)).toEqual({
      compatible: false,
      messages: ['field a changed'],
    });
    await registry.close();
  });

  it('falls back to the global level for a subject the registry does not know', async () => {
    seen = [];
    const registry = createRegistry({ url: base });
    handler = (req) =>
      req.url?.startsWith('/apis/ccompat/v7/config/')
        ? { status: 404, body: {} }
        : { status: 200, body: { compatibilityLevel: 'FULL' } };
    expect(await registry.getCompatibility('new-value')).toBe('FULL');
    expect(seen.map((s) => s.url)).toEqual([
      '/apis/ccompat/v7/config/new-value?defaultToGlobal=true',
      '/apis/ccompat/v7/config',
    ]);
    await registry.close();
  });

  it('turns URL credentials into basic auth and keeps them out of messages', async () => {
    seen = [];
    handler = () => ({ status: 503 });
    const withCreds = base.replace('http://', 'http://reg-user:s3cret-pass@');
    const registry = createRegistry({ url: withCreds });
    expect(registry.url).not.toContain('s3cret');
    const err = await failure(registry.subjects());
    expect(seen[0]?.auth).toBe(`Basic ${Buffer.from('reg-user:s3cret-pass').toString('base64')}`);
    expect(`${err.message} ${JSON.stringify(err.context)}`).not.toContain('s3cret');
    await registry.close();
  });

  it('times out a registry that does not answer', async () => {
    handler = () => ({ status: 200, body: [], delayMs: 5_000 });
    const registry = createRegistry({ url: base, timeoutMs: 200 });
    const err = await failure(registry.subjects());
    expect(err.code).toBe('REGISTRY_UNAVAILABLE');
    await registry.close();
  });

  it('reports a registry that refuses connections as unavailable', async () => {
    const registry = createRegistry({ url: 'http://127.0.0.1:1/apis/ccompat/v7', timeoutMs: 500 });
    const err = await failure(registry.latest('s-value'));
    expect(err.code).toBe('REGISTRY_UNAVAILABLE');
    expect(err.message).toMatch(/unreachable at http:\/\/127\.0\.0\.1:1\/apis\/ccompat\/v7 \(ECONNREFUSED\)/);
    await registry.close();
  });

  it('refuses an unknown compatibility level before asking the registry', async () => {
    const registry = createRegistry({ url: base });
    await expect(registry.setCompatibility('s-value', 'SIDEWAYS' as 'FULL')).rejects.toThrow(RangeError);
    await registry.close();
  });
});
