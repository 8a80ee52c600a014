import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SimContext } from './context.ts';
import { statusUrl, type ExportRequest } from './export-jobs.ts';
import {
  all,
  bearerGuard,
  FHIR_NDJSON,
  originOf,
  parseInstant,
  sendOutcome,
  single,
  type Query,
  type SiteParams,
} from './http-util.ts';
import { byteSize, fileLines, ndjsonBody } from './ndjson-body.ts';
import { isResourceType, RESOURCE_TYPES, SERVED_TYPES, type ResourceType } from './resource-types.ts';

const OUTPUT_FORMATS = ['application/fhir+ndjson', 'application/ndjson', 'ndjson'];

/**
 * FHIR Bulk Data export: kick-off (system, Patient, Group), status polling, cancel, file download.
 * @see https://hl7.org/fhir/uv/bulkdata/export.html
 */
export function registerExportRoutes(app: FastifyInstance, ctx: SimContext): void {
  const guard = bearerGuard(ctx);
  /** File renderings served while `volatileFileBytes` is on (their stamps). */
  let renderings = 0;
  type KickOff = { Params: SiteParams & { groupId?: string }; Querystring: Query };

  app.get<KickOff>('/fhir/$export', { preHandler: guard }, (request, reply) => kickOff(ctx, request, reply));
  app.get<KickOff>('/fhir/Patient/$export', { preHandler: guard }, (request, reply) =>
    kickOff(ctx, request, reply),
  );
  app.get<KickOff>('/fhir/Group/:groupId/$export', { preHandler: guard }, (request, reply) =>
    kickOff(ctx, request, reply),
  );

  type Status = { Params: SiteParams & { jobId: string } };
  app.get<Status>('/fhir/_bulk/:jobId', { preHandler: guard }, async (request, reply) => {
    const { site, jobId } = request.params;
    const delay = ctx.faults.faults.statusPollDelayMs;
    if (delay > 0) await sleep(delay);
    const result = ctx.jobs.poll(site, jobId, ctx.now(), ctx.faults.faults);
    switch (result.state) {
      case 'missing':
        return sendOutcome(reply, 404, 'not-found', 'export job not found, cancelled or expired');
      case 'pending':
        return reply
          .code(202)
          .header('Retry-After', String(ctx.options.export.retryAfterSeconds))
          .header('X-Progress', `in-progress ${result.progressPercent}%`)
          .send();
      case 'ready':
        return reply
          .type('application/json')
          .header('Expires', new Date(result.expiresAt).toUTCString())
          .send(result.manifest);
    }
  });

  app.delete<Status>('/fhir/_bulk/:jobId', { preHandler: guard }, async (request, reply) => {
    const { site, jobId } = request.params;
    if (!ctx.jobs.cancel(site, jobId, ctx.now()))
      return sendOutcome(reply, 404, 'not-found', 'export job not found');
    return sendOutcome(reply, 202, 'informational', 'export job cancelled');
  });

  app.get<{ Params: Status['Params'] & { file: string } }>(
    '/fhir/_bulk/:jobId/:file',
    { preHandler: guard },
    async (request, reply) => {
      const { site, jobId, file: name } = request.params;
      const found = ctx.jobs.file(site, jobId, name, ctx.now());
      if (found.state === 'missing') return sendOutcome(reply, 404, 'not-found', 'export file not found');
      if (found.state === 'expired') return sendOutcome(reply, 410, 'expired', 'export file has expired');
      const { job, file } = found;
      const { volatileFileBytes, fileValidators } = ctx.faults.faults;
      // A server rendering on the fly: this request's bytes differ from every other request's.
      const stamp = volatileFileBytes ? renderStamp(++renderings) : undefined;
      const lastModified = new Date(job.completedAt ?? job.createdAt).toUTCString();
      const etagOf = (tag: string): string => `"${job.id.slice(0, 8)}-${file.name}-${tag}"`;
      // The ETag of the bytes a client got last: of the latest full download (or of nothing).
      const currentEtag = etagOf(`g${file.generation ?? 0}`);
      const rangeHeader = request.headers.range;
      const ifRange = request.headers['if-range'];
      // If-Range: serve the range only when the validator still names these bytes, else the whole
      // file with 200 (RFC 9110 §13.1.5). A volatile rendering never matches an earlier ETag.
      const rangeAllowed =
        ifRange === undefined ||
        (fileValidators === 'etag' && !volatileFileBytes && ifRange === currentEtag) ||
        (fileValidators === 'last-modified' && ifRange === lastModified);
      let range: { start: number; end: number } | undefined;
      let size: number | undefined;
      if (rangeHeader !== undefined && rangeAllowed) {
        size =
          stamp === undefined
            ? (file.size ??= byteSize(fileLines(ctx.generator, job, file)))
            : byteSize(fileLines(ctx.generator, job, file, undefined, stamp));
        const parsed = parseRange(rangeHeader, size);
        if (parsed === 'unsatisfiable') {
          return reply.code(416).header('Content-Range', `bytes */${size}`).send();
        }
        range = parsed;
      }
      ctx.counters.add('filesServed');
      const drawn = ctx.faults.fileFault();
      // A resumed (ranged) download can be reset, but truncating it would contradict Content-Length.
      const fault = range !== undefined && drawn?.kind === 'truncate' ? undefined : drawn;
      if (range === undefined) file.generation = (file.generation ?? 0) + 1;
      // Ranged bytes must match the full file, so they bypass counting and drift.
      const lines =
        range === undefined
          ? fileLines(ctx.generator, job, file, ctx, stamp)
          : fileLines(ctx.generator, job, file, undefined, stamp);
      const body = ndjsonBody(lines, {
        lineCount: file.count,
        fault,
        ...(range === undefined ? {} : { range }),
        onFault: (kind) => ctx.counters.add(kind === 'reset' ? 'resetsInjected' : 'truncationsInjected'),
        pace: (n) => ctx.pace(n),
      });
      reply.type(FHIR_NDJSON).header('Accept-Ranges', 'bytes');
      if (fileValidators === 'etag')
        reply.header(
          'ETag',
          stamp === undefined ? etagOf(`g${file.generation ?? 0}`) : etagOf(`r${renderings}`),
        );
      if (fileValidators === 'last-modified') reply.header('Last-Modified', lastModified);
      if (range !== undefined && size !== undefined) {
        reply
          .code(206)
          .header('Content-Range', `bytes ${range.start}-${range.end}/${size}`)
          .header('Content-Length', String(range.end - range.start + 1));
      }
      return reply.send(Readable.from(body));
    },
  );
}

/** A `meta.source` stamp whose length varies from one rendering to the next. */
function renderStamp(n: number): string {
  return `r${n}-${'x'.repeat((n * 7) % 11)}`;
}

/** A single `bytes=` range; anything else is served in full (servers may ignore Range). */
function parseRange(
  header: string,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

async function kickOff(
  ctx: SimContext,
  request: FastifyRequest<{ Params: SiteParams & { groupId?: string }; Querystring: Query }>,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const { site, groupId } = request.params;
  const query = request.query;
  if (!(request.headers.accept ?? '').includes('application/fhir+json')) {
    return sendOutcome(reply, 400, 'invalid', 'Accept must be application/fhir+json');
  }
  if (!/\brespond-async\b/.test(String(request.headers.prefer ?? '')))
    return sendOutcome(reply, 400, 'invalid', 'Prefer: respond-async is required');
  const format = single(query, '_outputFormat');
  if (format !== undefined && !OUTPUT_FORMATS.includes(format))
    return sendOutcome(reply, 400, 'not-supported', '_outputFormat is not supported');

  const typeList = all(query, '_type')
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
  if (!typeList.every(isResourceType))
    return sendOutcome(reply, 400, 'not-supported', '_type names a resource type that is not served');
  const types: ResourceType[] =
    typeList.length === 0 ? [...RESOURCE_TYPES] : SERVED_TYPES.filter((t) => typeList.includes(t));

  const sinceText = single(query, '_since');
  const sinceMs = sinceText === undefined ? undefined : parseInstant(sinceText);
  if (sinceText !== undefined && sinceMs === undefined)
    return sendOutcome(reply, 400, 'invalid', '_since must be a FHIR instant');

  let patients: [number, number] = [0, ctx.options.shape.patientsPerSite];
  if (groupId !== undefined) {
    const group = ctx.options.groups.find((g) => g.id === groupId);
    if (group === undefined) return sendOutcome(reply, 404, 'not-found', 'group not found');
    patients = [group.from, group.to];
  }
  const origin = originOf(request);
  const exportRequest: ExportRequest = {
    site,
    requestUrl: `${origin}${request.url}`,
    origin,
    types,
    sinceMs,
    patients,
  };
  const job = ctx.jobs.start(exportRequest, ctx.now());
  ctx.counters.add('exportsStarted');
  reply.header('Content-Location', statusUrl(job));
  return sendOutcome(reply, 202, 'informational', 'export accepted');
}
