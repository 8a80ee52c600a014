/**
 * Helpers for this package's own tests (not exported from index.ts): obtain tokens and drive an
 * export through `app.inject`, so most tests need no listening socket.
 */
import type { Simulator } from '../simulator.ts';
import type { ExportManifest } from '../export-jobs.ts';

export const SECRET_CLIENT = { clientId: 'test-client', secret: 'test-secret-0001' } as const;

/** A token for the secret client (which the simulator must have registered). */
export async function secretToken(sim: Simulator, site = 'site-a'): Promise<string> {
  const res = await sim.app.inject({
    method: 'POST',
    url: `/${site}/auth/token`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: SECRET_CLIENT.clientId,
      client_secret: SECRET_CLIENT.secret,
    }).toString(),
  });
  if (res.statusCode !== 200) throw new Error(`token request failed with ${res.statusCode}`);
  return res.json<{ access_token: string }>().access_token;
}

export function exportHeaders(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}`, accept: 'application/fhir+json', prefer: 'respond-async' };
}

/** Path (no origin) of a URL the simulator handed out. */
export function pathOf(url: string): string {
  const parsed = new URL(url);
  return `${parsed.pathname}${parsed.search}`;
}

/** Kicks off an export and polls (bounded) until the manifest is ready. */
export async function runExport(
  sim: Simulator,
  token: string,
  path: string,
  maxPolls = 20,
): Promise<{ status: string; manifest: ExportManifest }> {
  const kick = await sim.app.inject({ method: 'GET', url: path, headers: exportHeaders(token) });
  if (kick.statusCode !== 202) throw new Error(`kick-off answered ${kick.statusCode}`);
  const status = pathOf(String(kick.headers['content-location']));
  for (let poll = 0; poll < maxPolls; poll++) {
    const res = await sim.app.inject({
      method: 'GET',
      url: status,
      headers: { authorization: `Bearer ${token}` },
    });
    if (res.statusCode === 200) return { status, manifest: res.json() };
    if (res.statusCode !== 202) throw new Error(`status answered ${res.statusCode}`);
    // The job plans in the background on the event loop; let it run before the next poll.
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`export not ready after ${maxPolls} polls`);
}

/** Downloads a file through inject and splits it into lines (no trailing empty line). */
export async function downloadLines(sim: Simulator, token: string, url: string): Promise<string[]> {
  const res = await sim.app.inject({
    method: 'GET',
    url: pathOf(url),
    headers: { authorization: `Bearer ${token}` },
  });
  if (res.statusCode !== 200) throw new Error(`download answered ${res.statusCode}`);
  return res.body.split('\n').filter((line) => line !== '');
}

/** A controllable clock for expiry tests. */
export function fakeClock(start = Date.UTC(2025, 5, 1)): {
  now: () => number;
  advance: (ms: number) => void;
} {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}
