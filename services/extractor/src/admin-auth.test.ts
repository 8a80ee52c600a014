import Fastify, { type FastifyInstance } from 'fastify';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@ehrflow/logging';
import { createMetrics } from '@ehrflow/service';
import { adminTokenFromEnv, registerAdminAuth } from './admin-auth.ts';

const TOKEN = 'a'.repeat(20) + 'synthetic-admin-token';
const logger = createLogger({ name: 'admin-auth-test', level: 'silent' });

describe('jobs API authentication', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function build(options: { maxFailures?: number; now?: () => number } = {}) {
    const metrics = createMetrics('extractor');
    app = Fastify();
    registerAdminAuth(app, { token: TOKEN, logger, metrics, windowMs: 60_000, ...options });
    app.post('/jobs', () => ({ started: true }));
    app.delete('/jobs/:id', () => ({ cancelled: true }));
    app.get('/metrics', () => 'open');
    await app.ready();
    return { app, metrics };
  }

  it('accepts the right bearer token', async () => {
    const { app } = await build();
    const res = await app.inject({
      method: 'POST',
      url: '/jobs',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.statusCode).toBe(200);
  });

  it('refuses a missing token, a wrong token and another scheme with 401, without echoing them', async () => {
    const { app, metrics } = await build();
    const missing = await app.inject({ method: 'POST', url: '/jobs' });
    const wrong = await app.inject({
      method: 'DELETE',
      url: '/jobs/x',
      headers: { authorization: 'Bearer wrong-token-value' },
    });
    const basic = await app.inject({
      method: 'POST',
      url: '/jobs',
      headers: { authorization: `Basic ${TOKEN}` },
    });
    expect([missing.statusCode, wrong.statusCode, basic.statusCode]).toEqual([401, 401, 401]);
    expect(wrong.headers['www-authenticate']).toBe('Bearer');
    expect(wrong.body).not.toContain('wrong-token-value');
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/ehrflow_extractor_admin_auth_failures_total\{[^}]*reason="missing"[^}]*\} 2/);
    expect(text).toMatch(/ehrflow_extractor_admin_auth_failures_total\{[^}]*reason="invalid"[^}]*\} 1/);
  });

  it('rate-limits an address after too many failures, even with the right token, until the window ends', async () => {
    let t = 0;
    const { app } = await build({ maxFailures: 3, now: () => t });
    for (let i = 0; i < 3; i++)
      expect(
        (await app.inject({ method: 'POST', url: '/jobs', headers: { authorization: 'Bearer guess' } }))
          .statusCode,
      ).toBe(401);
    const limited = await app.inject({
      method: 'POST',
      url: '/jobs',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    t = 60_001;
    const after = await app.inject({
      method: 'POST',
      url: '/jobs',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(after.statusCode).toBe(200);
  });

  it('leaves /metrics open', async () => {
    const { app } = await build();
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
  });

  it('reads the token from a mounted secret file and refuses a short one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'admin-token-'));
    writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
    expect(adminTokenFromEnv({ EXTRACTOR_ADMIN_TOKEN_FILE: join(dir, 'token') })).toBe(TOKEN);
    expect(() => adminTokenFromEnv({ EXTRACTOR_ADMIN_TOKEN: 'short' })).toThrow(/shorter/);
    expect(adminTokenFromEnv({})).toBeUndefined();
  });
});
