/** The slice of the extractor's job view (GET /jobs/:id) the demo and the benchmark read. */
export interface JobView {
  readonly id: string;
  readonly sourceId: string;
  readonly state: 'pending' | 'running' | 'completed' | 'partial' | 'failed' | 'cancelled';
  readonly reason: string | null;
  readonly errorCode: string | null;
  readonly counts: {
    readonly read: number;
    readonly produced: number;
    readonly deleted: number;
    readonly errors: number;
    readonly retries: number;
    readonly throttled: number;
    readonly tokenRefreshes: number;
  };
  readonly parts: { readonly done: number; readonly total: number };
}

export const FINAL_STATES: ReadonlySet<JobView['state']> = new Set([
  'completed',
  'partial',
  'failed',
  'cancelled',
]);

/**
 * Starts a job through the extractor's API (`POST /jobs`). A backfill with `since` (a FHIR
 * instant) is a `_since` bulk export, the one that reports deleted resources.
 */
export async function startJob(
  extractorUrl: string,
  body: { source: string; kind: 'backfill' | 'incremental'; since?: string },
): Promise<JobView> {
  const res = await fetch(`${extractorUrl}/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  if (res.status !== 202)
    throw new Error(`POST /jobs for source ${body.source} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as JobView;
}

/** Reads a job (`GET /jobs/:id`). */
export async function getJob(extractorUrl: string, id: string): Promise<JobView> {
  const res = await fetch(`${extractorUrl}/jobs/${id}`, { signal: AbortSignal.timeout(10_000) });
  if (res.status !== 200) throw new Error(`GET /jobs/${id} answered ${res.status}`);
  return (await res.json()) as JobView;
}
