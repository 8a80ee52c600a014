/**
 * What a fault scenario is: a name, an optional step before the pipeline starts (e.g. put a proxy
 * between the extractor and the EHR), and the fault itself, injected while data flows. The runner
 * (run-scenario.ts) owns the pipeline, the private stack and the invariants; a scenario only
 * breaks something and undoes it, bounded in time.
 */
import type { FaultsInput } from '@ehrflow/ehr-sim';

/** The pipeline's four services, in flow order. */
export type PipelineService = 'extractor' | 'validator' | 'redactor' | 'loader';

/** The receivers of the HL7 v2 and billing feeds that run beside the FHIR sites. */
export type FeedService = 'mllp-receiver' | 'billing-receiver';

/** Every process of a scenario's deployment that a scenario may kill. */
export type SuiteService = PipelineService | FeedService;

/** A dependency of the private stack that a scenario may stop and start again. */
export type StackDependency = 'kafka' | 'registry' | 'postgres' | 'redis';

/** Fault durations; the CI variant uses short ones. */
export interface FaultDurations {
  /** Pause between a `kill -9` and the restart of the killed service(s). */
  readonly killPauseMs: number;
  /** How long the Kafka broker stays stopped. */
  readonly kafkaOutageMs: number;
  /** How long the schema registry stays unreachable. */
  readonly registryOutageMs: number;
  /** How long PostgreSQL stays down during its restart. */
  readonly postgresOutageMs: number;
  /** How long Redis stays stopped. */
  readonly redisOutageMs: number;
  /** Generic bound for other outages (a network link down, a flap period). */
  readonly linkOutageMs: number;
}

/** The simulated EHR as the pipeline sees it before any proxy. */
export interface EhrUpstream {
  /** Loopback address and port the simulator listens on (what a proxy forwards to). */
  readonly host: string;
  readonly port: number;
  /** `http://host:port`. */
  readonly url: string;
}

/** The extractor's per-source HTTP timeouts (its sources file), all optional. */
export interface SourceTimeouts {
  readonly connectTimeoutMs?: number;
  readonly headersTimeoutMs?: number;
  readonly bodyIdleTimeoutMs?: number;
}

/** Given before the services start. */
export interface PrepareContext {
  readonly scenario: string;
  readonly ehr: EhrUpstream;
  /**
   * Points the extractor somewhere else: `rewrite` gets each source's FHIR base URL and token URL
   * (both on `ehr.url`) and returns the URL the extractor is given instead (e.g. the same path on
   * a proxy's port). Only effective before the services start; the last call wins.
   */
  useEhrUrl(rewrite: (url: string) => string): void;
  /**
   * The sources' HTTP timeouts (the extractor's per-source `connectTimeoutMs`, `headersTimeoutMs`,
   * `bodyIdleTimeoutMs`), e.g. shorter than a black hole lasts so the timeouts must fire. Only
   * effective before the services start.
   */
  useSourceTimeouts(timeouts: SourceTimeouts): void;
  /** Epoch ms after which the scenario must have undone its fault. */
  readonly deadline: number;
  readonly durations: FaultDurations;
  /** Folder for the scenario's own files (logs of a proxy, ...), removed with the run. */
  readonly dir: string;
  /** A seeded random number in [0, 1) (from the run's seed and the scenario name). */
  random(): number;
  log(line: string): void;
  /** Runs at the end of the scenario, whatever happens (last registered first). */
  onCleanup(fn: () => Promise<void> | void): void;
}

/** An extraction job as the scenario sees it. */
export interface ScenarioJob {
  readonly id: string;
  readonly sourceId: string;
  readonly state: string;
}

/** Given while data flows. */
export interface FaultContext extends PrepareContext {
  /** `kill -9` of a service or a feed's receiver; it stays down until `restartService`. */
  killService(name: SuiteService): Promise<void>;
  /** Starts a killed (or stopped) service again and waits until it answers `/readyz`. */
  restartService(name: SuiteService): Promise<void>;
  /** Whether the HL7 and billing feeds run in this scenario (their receivers can then be killed). */
  readonly feeds: boolean;
  /** Stops a dependency of the private stack (Kafka, registry, PostgreSQL, Redis). */
  stopDependency(dep: StackDependency): Promise<void>;
  /** Starts it again on the same port and data and waits until it answers. */
  startDependency(dep: StackDependency): Promise<void>;
  /** `kill -9` of the Kafka broker or the registry (a crash, no clean shutdown); start it with `startDependency`. */
  killDependency(dep: 'kafka' | 'registry'): Promise<void>;
  /** What a service's `/readyz` answers now (status and body; status 0 when unreachable). */
  readiness(name: PipelineService): Promise<{ readonly status: number; readonly body: string }>;
  /** Changes the simulated EHR's faults (`@ehrflow/ehr-sim` setFaults). */
  setEhrFaults(faults: FaultsInput): void;
  /** Clears every EHR fault. */
  clearEhrFaults(): void;
  /** Undoes a revocation (`setEhrFaults({ revoke: [...] })`): the client gets tokens again. */
  reinstateEhrClient(clientId: string): void;
  /** Client ids of the sources (for token revocation). */
  readonly ehrClients: readonly string[];
  /** Extractor source ids. */
  readonly sources: readonly string[];
  /** The run's jobs so far (the runner's own first backfill per source among them). */
  jobs(): Promise<readonly ScenarioJob[]>;
  /** Starts another backfill of a source (counted in the run's invariants). */
  startBackfill(sourceId: string): Promise<ScenarioJob>;
  /** Cancels a job (`DELETE /jobs/:id`). */
  cancelJob(id: string): Promise<void>;
  /** Resumes a cancelled or failed job from its checkpoint (`POST /jobs/:id/resume`). */
  resumeJob(id: string): Promise<void>;
  /** Rows loaded so far and the rows expected at the end. */
  progress(): Promise<{ readonly loaded: number; readonly expected: number }>;
  /** Bounded wait: resolves when `check` is true, throws after `timeoutMs` naming `what`. */
  waitFor(check: () => Promise<boolean> | boolean, what: string, timeoutMs: number): Promise<void>;
  sleep(ms: number): Promise<void>;
}

/** What a scenario reports back (all optional; the runner measures the rest). */
export interface FaultOutcome {
  /** When the fault ended (dependency back, proxy healed); recovery time is measured from here. */
  readonly faultEndedAt?: number;
  /** Observations worth a line in the report (PHI-free: states, codes, counts). */
  readonly notes?: readonly string[];
}

export interface Scenario {
  /** Kebab-case, unique; what `--scenario` takes. */
  readonly name: string;
  /** One line for `--list` and the report. */
  readonly summary: string;
  /** Part of the default named run (false: only when named, e.g. needs root). Default true. */
  readonly byDefault?: boolean;
  /**
   * Why this scenario cannot run on this machine (missing privileges, tools), or undefined when it
   * can; a scenario that cannot run is reported as skipped, not failed.
   */
  unavailable?(): Promise<string | undefined>;
  /**
   * A job ending `partial` is expected (the EHR reports error entries): it passes when its records
   * reconcile. Default false: every job must end `completed`.
   */
  readonly acceptsPartial?: boolean;
  /** Share of the expected rows loaded before `inject` is called (default 0.15). */
  readonly injectAt?: number;
  /** Before the services start. */
  prepare?(ctx: PrepareContext): Promise<void>;
  /** Breaks something while data flows, undoes it, and resolves when the fault is over. */
  inject(ctx: FaultContext): Promise<FaultOutcome | void>;
}
