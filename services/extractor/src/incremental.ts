import { PipelineError } from '@ehrflow/errors';
import { z } from '@ehrflow/config';
import { Batch, addResource } from './batch.ts';
import {
  commitPage,
  laterInstant,
  partOf,
  type IncrementalProgress,
  type TypeProgress,
} from './checkpoint.ts';
import type { JobContext } from './job-context.ts';

const searchBundle = z.object({
  resourceType: z.literal('Bundle'),
  type: z.literal('searchset'),
  link: z.array(z.object({ relation: z.string(), url: z.string() })).optional(),
  entry: z.array(z.object({ resource: z.record(z.string(), z.unknown()).optional() })).optional(),
});

/**
 * Runs an incremental sync: per resource type, a search by `_lastUpdated=gt<watermark>` (the
 * job's `since`, else the source's stored watermark) following `next` links. Each page is
 * produced and acknowledged before its `next` link is checkpointed, and a type's watermark
 * advances only when its last page is committed — pages come in server order, not in
 * `lastUpdated` order, so an earlier advance could skip records of later pages.
 *
 * @see https://hl7.org/fhir/R4/search.html#_lastUpdated
 * @see https://hl7.org/fhir/R4/http.html#paging
 */
export async function runIncremental(ctx: JobContext): Promise<IncrementalProgress> {
  const marks = await ctx.watermarks();
  const start = ctx.progress() as IncrementalProgress;
  for (const type of start.types) {
    if (type.done) continue;
    const since = ctx.job.since ?? marks.get(type.type);
    await syncType(ctx, type, since);
    const synced = (ctx.progress() as IncrementalProgress).types.find((t) => t.type === type.type);
    const mark = laterInstant(marks.get(type.type), synced?.maxSeen);
    if (mark !== undefined) await ctx.setWatermark(type.type, mark);
  }
  return ctx.progress() as IncrementalProgress;
}

async function syncType(ctx: JobContext, type: TypeProgress, since: string | undefined): Promise<void> {
  const first = new URLSearchParams({ _count: String(ctx.source.pageSize) });
  if (since !== undefined) first.set('_lastUpdated', `gt${since}`);
  let url: string | undefined = type.next ?? `${type.type}?${first.toString()}`;
  let page = type.pages;
  while (url !== undefined) {
    page++;
    const response = await ctx.client.json('GET', url, { signal: ctx.signal, route: `${type.type}?search` });
    const parsed = searchBundle.safeParse(response.body);
    if (!parsed.success) {
      throw new PipelineError(
        'HTTP_PERMANENT',
        'search answered with something other than a searchset Bundle',
        {
          context: { jobId: ctx.job.id, resourceType: type.type, page },
        },
      );
    }
    const batch = new Batch();
    let maxSeen: string | undefined;
    (parsed.data.entry ?? []).forEach((entry, i) => {
      const locator = `search ${type.type} page ${page} entry ${i + 1}`;
      batch.lines++;
      if (entry.resource === undefined) {
        batch.error('MISSING_REQUIRED');
        return;
      }
      addResource(ctx.envelope, batch, entry.resource, JSON.stringify(entry.resource), locator);
      const meta = entry.resource.meta as { lastUpdated?: unknown } | undefined;
      if (typeof meta?.lastUpdated === 'string') maxSeen = laterInstant(maxSeen, meta.lastUpdated);
    });
    const next: string | undefined = parsed.data.link?.find((l) => l.relation === 'next')?.url;
    await ctx.commit(
      batch,
      (p, counts) => commitPage(p as IncrementalProgress, type.type, next, maxSeen, counts, batch.tooLarge),
      partOf(type.type),
    );
    url = next;
  }
}
