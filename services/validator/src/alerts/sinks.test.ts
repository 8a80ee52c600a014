import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_RETRY_POLICY } from '@ehrflow/resilience';
import { afterEach, describe, expect, it } from 'vitest';
import type { Alert } from './alert.ts';
import { createFileAlertSink } from './file-sink.ts';
import { createWebhookAlertSink } from './webhook-sink.ts';

const alert = { alertId: 'a1', sourceId: 'site-a', summary: 's' } as unknown as Alert;

describe('file alert sink', () => {
  it('appends one JSON line per alert', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'alerts-'));
    const path = join(dir, 'alerts.jsonl');
    const sink = createFileAlertSink(path);
    await sink.send(alert);
    await sink.send({ ...alert, alertId: 'a2' });
    const lines = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Alert);
    expect(lines.map((l) => l.alertId)).toEqual(['a1', 'a2']);
    rmSync(dir, { recursive: true });
  });
});

describe('webhook alert sink', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  async function serve(statuses: number[]): Promise<{ url: string; bodies: string[] }> {
    const bodies: string[] = [];
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        bodies.push(body);
        res.statusCode = statuses.shift() ?? 200;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return { url: `http://127.0.0.1:${address.port}/hook`, bodies };
  }

  it('retries a 5xx and delivers the alert as JSON', async () => {
    const { url, bodies } = await serve([503, 200]);
    const sink = createWebhookAlertSink({ url, timeoutMs: 2000, retry: TEST_RETRY_POLICY });
    await sink.send(alert);
    expect(bodies).toHaveLength(2);
    expect(JSON.parse(bodies[1] as string)).toMatchObject({ alertId: 'a1' });
    await sink.close?.();
  });

  it('fails at once on a 4xx without echoing the URL', async () => {
    const { url, bodies } = await serve([400]);
    const sink = createWebhookAlertSink({
      url: `${url}?token=secret-token`,
      timeoutMs: 2000,
      retry: TEST_RETRY_POLICY,
    });
    const err = await sink.send(alert).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'HTTP_PERMANENT' });
    expect(JSON.stringify(err) + String(err)).not.toContain('secret-token');
    expect(bodies).toHaveLength(1);
    await sink.close?.();
  });
});
