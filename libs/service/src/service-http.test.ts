import { afterEach, describe, expect, it } from 'vitest';
import { PipelineError } from '@ehrflow/errors';
import { createMetrics } from './metrics.ts';
import { createServiceHttp, type ServiceHttp, type ServiceHttpOptions } from './service-http.ts';
import { capturingLogger } from './testing/capturing-logger.ts';

const CANARY = 'Canaryjane Doerson';

const open: ServiceHttp[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((http) => http.close()));
});

/** The product's logger writing to memory, so a test can read every line it produced. */
function setup(overrides: Partial<ServiceHttpOptions> = {}) {
  const log = capturingLogger('test-svc');
  let ready = false;
  const http = createServiceHttp({
    name: 'test-svc',
    port: 0,
    logger: log.logger,
    readiness: () => ready,
    ...overrides,
  });
  open.push(http);
  return {
    http,
    logger: log,
    setReady: (value: boolean) => {
      ready = value;
    },
  };
}

describe('createServiceHttp', () => {
  it('answers /healthz while the process is alive', async () => {
    const { http } = setup();
    const res = await http.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('flips /readyz with the readiness function', async () => {
    const { http, setReady } = setup();
    let res = await http.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'not_ready', checks: { lifecycle: true, service: false } });

    setReady(true);
    res = await http.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready', checks: { lifecycle: true, service: true } });

    setReady(false);
    res = await http.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
  });

  it('reports each named check, and a throwing check as failed without logging its message', async () => {
    const { http, setReady, logger } = setup();
    setReady(true);
    let kafkaUp = true;
    http.addReadinessCheck('kafka', async () => Promise.resolve(kafkaUp));
    http.addReadinessCheck('registry', () => {
      throw new Error(`lookup failed for ${CANARY}`);
    });
    let res = await http.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json().checks).toEqual({ lifecycle: true, service: true, kafka: true, registry: false });

    kafkaUp = false;
    res = await http.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.json().checks.kafka).toBe(false);
    expect(logger.lines.some((l) => l.msg === 'readiness check failed')).toBe(true);
    expect(logger.text()).not.toContain(CANARY);
  });

  it('fails a check that does not answer within the timeout', async () => {
    const { http, setReady, logger } = setup({ readinessTimeoutMs: 50 });
    setReady(true);
    http.addReadinessCheck('stuck', () => new Promise<boolean>(() => undefined));
    const res = await http.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json().checks.stuck).toBe(false);
    expect(logger.lines.find((l) => l.msg === 'readiness check failed')).toMatchObject({
      check: 'stuck',
      outcome: 'timeout',
    });
  });

  it('refuses duplicate or malformed check names', () => {
    const { http } = setup();
    expect(() => http.addReadinessCheck('service', () => true)).toThrow(TypeError);
    expect(() => http.addReadinessCheck('Not A Name', () => true)).toThrow(TypeError);
  });

  it('turns /readyz off once draining', async () => {
    const { http, setReady } = setup();
    setReady(true);
    http.setDraining();
    const res = await http.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json().checks.lifecycle).toBe(false);
  });

  it('serves /metrics in Prometheus text format, including a registered counter', async () => {
    const metrics = createMetrics('test-svc');
    metrics.counter('jobs_total', 'Jobs.', ['state']).inc({ state: 'done' });
    const { http } = setup({ registry: metrics.registry });
    const res = await http.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toMatch(/^ehrflow_jobs_total\{state="done",service="test-svc"\} 1$/m);
    expect(res.body).toContain('ehrflow_process_resident_memory_bytes');
  });

  it('never echoes an error message, a request body or a URL in error replies or logs', async () => {
    const { http, logger } = setup();
    http.app.get('/boom', () => {
      throw new Error(`could not parse ${CANARY}`);
    });
    http.app.get('/refused', () => {
      throw Object.assign(new PipelineError('SHUTDOWN', 'draining'), { statusCode: 503 });
    });
    http.app.post('/echo', (request) => request.body);

    const boom = await http.app.inject({ method: 'GET', url: '/boom' });
    expect(boom.statusCode).toBe(500);
    expect(boom.json()).toEqual({ statusCode: 500, error: 'Internal Server Error' });

    const refused = await http.app.inject({ method: 'GET', url: '/refused' });
    expect(refused.json()).toEqual({ statusCode: 503, error: 'Service Unavailable', code: 'SHUTDOWN' });

    const badJson = await http.app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/json' },
      payload: `{"name": "${CANARY}"`,
    });
    expect(badJson.statusCode).toBe(400);
    expect(badJson.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' });

    const notFound = await http.app.inject({ method: 'GET', url: `/patients?name=${CANARY}` });
    expect(notFound.statusCode).toBe(404);
    expect(notFound.json()).toEqual({ statusCode: 404, error: 'Not Found' });

    const badUrl = await http.app.inject({ method: 'GET', url: `/%zz${CANARY}` });
    expect(badUrl.statusCode).toBe(400);

    for (const res of [boom, refused, badJson, notFound, badUrl]) expect(res.body).not.toContain(CANARY);
    expect(logger.lines.find((l) => l.msg === 'http request failed')).toMatchObject({
      route: '/boom',
      statusCode: 500,
    });
    expect(logger.text()).not.toContain(CANARY);
    expect(logger.text()).not.toContain('could not parse');
  });

  it('closes idempotently', async () => {
    const { http } = setup();
    await http.listen();
    await http.close();
    await http.close();
    expect(http.app.server.listening).toBe(false);
  });
});
