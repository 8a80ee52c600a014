import { TimeWindow } from './time-window.ts';

/** What one client (or anonymous caller, keyed `ip:<address>`) did. */
export interface ClientCounters {
  requests: number;
  rateLimited: number;
  /** Most requests seen from this client inside any 1-second window. */
  peakPerSecond: number;
  /** Most requests seen from this client inside any 60-second window. */
  peakPerMinute: number;
}

/** Counters an assertion can read, via counters() or GET /_admin/counters. */
export interface CountersSnapshot {
  /** Non-admin requests received (each counts once, whatever its answer). */
  requests: number;
  /** 429 answers. */
  rateLimited: number;
  /** 401 answers (token endpoint and resource endpoints). */
  unauthorized: number;
  /** 5xx answers injected by the serverErrors fault. */
  serverErrorsInjected: number;
  tokensIssued: number;
  exportsStarted: number;
  /** NDJSON file downloads started (200 or 206). */
  filesServed: number;
  /** Connections destroyed mid-body by the reset fault. */
  resetsInjected: number;
  /** Files ended mid-line by the truncate fault. */
  truncationsInjected: number;
  /** Resources written into responses (files, search pages, reads). */
  resourcesServed: number;
  /** Resources altered by a drift rule. */
  driftedResources: number;
  /** Resources the large-resources fault enlarged. */
  largeResources: number;
  /** Highest per-client peak over all clients. */
  peakPerSecond: number;
  peakPerMinute: number;
  clients: Record<string, ClientCounters>;
}

type Tally = Exclude<
  keyof CountersSnapshot,
  'clients' | 'peakPerSecond' | 'peakPerMinute' | 'requests' | 'rateLimited'
>;

interface ClientState extends ClientCounters {
  second: TimeWindow;
  minute: TimeWindow;
}

/** Mutable counters of one simulator. Request rates are observed at arrival, 429s included. */
export class Counters {
  private totals = zero();
  private clients = new Map<string, ClientState>();

  /** Records an arriving request of a client at `now`. */
  request(clientKey: string, now: number): void {
    this.totals.requests++;
    const client = this.client(clientKey);
    client.requests++;
    client.peakPerSecond = Math.max(client.peakPerSecond, client.second.add(now));
    client.peakPerMinute = Math.max(client.peakPerMinute, client.minute.add(now));
  }

  rateLimited(clientKey: string): void {
    this.totals.rateLimited++;
    this.client(clientKey).rateLimited++;
  }

  add(name: Tally, by = 1): void {
    this.totals[name] += by;
  }

  snapshot(): CountersSnapshot {
    const clients: Record<string, ClientCounters> = {};
    let peakPerSecond = 0;
    let peakPerMinute = 0;
    for (const [key, c] of this.clients) {
      clients[key] = {
        requests: c.requests,
        rateLimited: c.rateLimited,
        peakPerSecond: c.peakPerSecond,
        peakPerMinute: c.peakPerMinute,
      };
      peakPerSecond = Math.max(peakPerSecond, c.peakPerSecond);
      peakPerMinute = Math.max(peakPerMinute, c.peakPerMinute);
    }
    return { ...this.totals, peakPerSecond, peakPerMinute, clients };
  }

  reset(): void {
    this.totals = zero();
    this.clients.clear();
  }

  private client(key: string): ClientState {
    let client = this.clients.get(key);
    if (client === undefined) {
      client = {
        requests: 0,
        rateLimited: 0,
        peakPerSecond: 0,
        peakPerMinute: 0,
        second: new TimeWindow(1000),
        minute: new TimeWindow(60_000),
      };
      this.clients.set(key, client);
    }
    return client;
  }
}

function zero(): Omit<CountersSnapshot, 'clients' | 'peakPerSecond' | 'peakPerMinute'> {
  return {
    requests: 0,
    rateLimited: 0,
    unauthorized: 0,
    serverErrorsInjected: 0,
    tokensIssued: 0,
    exportsStarted: 0,
    filesServed: 0,
    resetsInjected: 0,
    truncationsInjected: 0,
    resourcesServed: 0,
    driftedResources: 0,
    largeResources: 0,
  };
}
