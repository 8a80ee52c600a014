import { createLogger } from '@ehrflow/logging';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpClient } from './client.ts';
import type { HttpLogger } from './logger.ts';
import { startLocalServer, type LocalServer } from './testing/local-server.ts';

describe('HttpLogger', () => {
  let server: LocalServer | undefined;
  afterEach(async () => {
    await server?.close();
  });

  it('accepts the product logger, and the client writes only method, route, status, duration and attempt', async () => {
    const lines: string[] = [];
    const logger: HttpLogger = createLogger({
      name: 'http-test',
      level: 'debug',
      destination: { write: (line: string) => void lines.push(line) },
    });
    server = await startLocalServer((_req, res, _body, i) => {
      res.writeHead(i === 0 ? 503 : 200, {
        'content-type': 'application/fhir+json',
        'x-patient': 'Jane Doe',
      });
      res.end('{"name":[{"family":"Doe"}]}');
    });
    const client = createHttpClient({
      baseUrl: `${server.url}/fhir`,
      logger,
      retryPolicy: { retries: 1, initialMs: 1, factor: 2, maxMs: 1 },
      tokenProvider: {
        getToken: () => Promise.resolve('secret-token'),
        invalidate: () => undefined,
        refreshes: () => 1,
      },
    });
    await client.json('GET', 'Patient/pat-42?family=Doe&given=Jane');
    await client.close();
    const out = lines.join('');
    expect(out).toContain('"route":"/fhir/Patient/:id"');
    expect(out).toContain('"status":200');
    for (const leaked of ['Jane', 'Doe', 'pat-42', 'secret-token', 'family'])
      expect(out).not.toContain(leaked);
  });
});
