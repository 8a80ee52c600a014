import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from '@ehrflow/config';
import { JobRequestError, JobStateError, type JobManager } from './job-manager.ts';
import type { JobView } from './job-view.ts';

const startBody = z.strictObject({
  source: z.string().min(1).max(64),
  kind: z.enum(['backfill', 'incremental']),
  types: z.array(z.string().min(1).max(64)).max(32).optional(),
  since: z.string().max(40).optional(),
});

const JOB_ID = /^[0-9a-f-]{36}$/;

/**
 * The jobs API: `POST /jobs` {source, kind, types?, since?} → 202 with the job, `GET /jobs/:id`,
 * `DELETE /jobs/:id` (cancel), `POST /jobs/:id/resume` (a failed or cancelled job, from its
 * checkpoint) → 202 with the job, `POST /jobs/:id/retry-failed` (a partial job's failed types, as
 * a new job linked by `parentJobId`) → 202 with the new job; 409 when the job's state does not
 * allow it. Answers carry ids, states, counts and error codes; a refused request names the field,
 * never echoes the body.
 */
export function registerJobRoutes(app: FastifyInstance, jobs: JobManager): void {
  app.post('/jobs', { bodyLimit: 4096 }, async (request, reply) => {
    const parsed = startBody.safeParse(request.body);
    if (!parsed.success) {
      const fields = [...new Set(parsed.error.issues.map((i) => i.path.map(String).join('.') || '(body)'))];
      return reply.code(400).send({ statusCode: 400, error: 'Bad Request', code: 'CONFIG_INVALID', fields });
    }
    try {
      const job = await jobs.start(parsed.data);
      return await reply.code(202).header('location', `/jobs/${job.id}`).send(job);
    } catch (err) {
      if (err instanceof JobRequestError) {
        return reply
          .code(400)
          .send({ statusCode: 400, error: 'Bad Request', code: err.code, fields: [err.field] });
      }
      throw err;
    }
  });

  app.get<{ Params: { id: string } }>('/jobs/:id', async (request, reply) => {
    const view = JOB_ID.test(request.params.id) ? await jobs.get(request.params.id) : undefined;
    if (view === undefined) return reply.code(404).send({ statusCode: 404, error: 'Not Found' });
    return reply.send(view);
  });

  app.delete<{ Params: { id: string } }>('/jobs/:id', async (request, reply) => {
    const view = JOB_ID.test(request.params.id) ? await jobs.cancel(request.params.id) : undefined;
    if (view === undefined) return reply.code(404).send({ statusCode: 404, error: 'Not Found' });
    return reply.code(202).send(view);
  });

  const act = async (
    id: string,
    reply: FastifyReply,
    run: (jobId: string) => Promise<JobView | undefined>,
  ): Promise<FastifyReply> => {
    try {
      const view = JOB_ID.test(id) ? await run(id) : undefined;
      if (view === undefined) return await reply.code(404).send({ statusCode: 404, error: 'Not Found' });
      return await reply.code(202).header('location', `/jobs/${view.id}`).send(view);
    } catch (err) {
      if (err instanceof JobStateError) {
        return reply.code(409).send({ statusCode: 409, error: 'Conflict', code: err.code, state: err.state });
      }
      throw err;
    }
  };
  app.post<{ Params: { id: string } }>('/jobs/:id/resume', (request, reply) =>
    act(request.params.id, reply, (id) => jobs.resume(id)),
  );
  app.post<{ Params: { id: string } }>('/jobs/:id/retry-failed', (request, reply) =>
    act(request.params.id, reply, (id) => jobs.retryFailed(id)),
  );
}
