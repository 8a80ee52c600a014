import type { FastifyInstance } from 'fastify';
import { z } from '@ehrflow/config';
import { JobRequestError, type JobManager } from './job-manager.ts';

const startBody = z.strictObject({
  source: z.string().min(1).max(64),
  kind: z.enum(['backfill', 'incremental']),
  types: z.array(z.string().min(1).max(64)).max(32).optional(),
  since: z.string().max(40).optional(),
});

const JOB_ID = /^[0-9a-f-]{36}$/;

/**
 * The jobs API: `POST /jobs` {source, kind, types?, since?} → 202 with the job, `GET /jobs/:id`,
 * `DELETE /jobs/:id` (cancel). Answers carry ids, states, counts and error codes; a refused
 * request names the field, never echoes the body.
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
        return reply.code(400).send({ statusCode: 400, error: 'Bad Request', code: err.code, fields: [err.field] });
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
}
