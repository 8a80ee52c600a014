import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { registerJobRoutes } from './admin-routes.ts';
import { JobStateError, type JobManager } from './job-manager.ts';
import type { JobView } from './job-view.ts';

const ID = '6f1c1b7e-0000-4000-8000-000000000001';
const CHILD = '6f1c1b7e-0000-4000-8000-000000000002';

function view(id: string, extra: Partial<JobView> = {}): JobView {
  return { id, state: 'running', parentJobId: null, ...extra } as JobView;
}

/** A job manager that knows one job in `state` and records what was asked of it. */
function fakeJobs(state: JobView['state']): { jobs: JobManager; calls: string[] } {
  const calls: string[] = [];
  const known = (id: string): boolean => id === ID;
  const jobs = {
    resume(id: string): Promise<JobView | undefined> {
      calls.push(`resume ${id}`);
      if (!known(id)) return Promise.resolve(undefined);
      if (state !== 'failed' && state !== 'cancelled')
        return Promise.reject(new JobStateError('resumed', state));
      return Promise.resolve(view(id, { state: 'pending' }));
    },
    retryFailed(id: string): Promise<JobView | undefined> {
      calls.push(`retry ${id}`);
      if (!known(id)) return Promise.resolve(undefined);
      if (state !== 'partial') return Promise.reject(new JobStateError('retried', state));
      return Promise.resolve(view(CHILD, { state: 'pending', parentJobId: id }));
    },
  } as unknown as JobManager;
  return { jobs, calls };
}

async function post(state: JobView['state'], path: string) {
  const app = Fastify();
  const { jobs, calls } = fakeJobs(state);
  registerJobRoutes(app, jobs);
  const res = await app.inject({ method: 'POST', url: path });
  await app.close();
  return { res, calls };
}

describe('job routes: resume and retry-failed', () => {
  it('resumes a failed job (202 with the job) and refuses other states with 409', async () => {
    const ok = await post('failed', `/jobs/${ID}/resume`);
    expect(ok.res.statusCode).toBe(202);
    expect(ok.res.headers.location).toBe(`/jobs/${ID}`);
    expect(ok.res.json()).toMatchObject({ id: ID, state: 'pending' });
    const conflict = await post('completed', `/jobs/${ID}/resume`);
    expect(conflict.res.statusCode).toBe(409);
    expect(conflict.res.json()).toMatchObject({ code: 'JOB_STATE_CONFLICT', state: 'completed' });
  });

  it('retries the failed types of a partial job as a new linked job', async () => {
    const ok = await post('partial', `/jobs/${ID}/retry-failed`);
    expect(ok.res.statusCode).toBe(202);
    expect(ok.res.headers.location).toBe(`/jobs/${CHILD}`);
    expect(ok.res.json()).toMatchObject({ id: CHILD, parentJobId: ID });
    expect((await post('running', `/jobs/${ID}/retry-failed`)).res.statusCode).toBe(409);
  });

  it('answers 404 for an unknown job or a malformed id, without asking the manager for the latter', async () => {
    expect((await post('failed', `/jobs/${CHILD}/resume`)).res.statusCode).toBe(404);
    const bad = await post('failed', '/jobs/not-an-id/retry-failed');
    expect(bad.res.statusCode).toBe(404);
    expect(bad.calls).toEqual([]);
  });
});
