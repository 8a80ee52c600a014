/**
 * V8 heap options of the long-running services, in one place: the image sets the common ones as
 * `ENV NODE_OPTIONS` (Containerfile); the Kubernetes manifests set each service's own
 * ({@link serviceNodeOptions}) as its `NODE_OPTIONS` (replaced by a `NODE_OPTIONS` in the
 * service's values `env`); the local launchers of the demo, the benchmarks and the tests
 * (tools/pipeline) pass the same to every service process. Tests check all three.
 *
 * `--max-semi-space-size=16`, every service: V8 grows each of the young generation's two
 * semi-spaces to 32 MB on a 64-bit machine with memory to spare (64 MB resident); a stage's
 * per-chunk garbage dies within 16 MB just as well (CPU per record unchanged within noise,
 * 50-120 MB less RSS per stage).
 *
 * `--max-old-space-size=256`, the redactor and the loader: without a limit V8 sizes the old
 * generation from the machine's memory (4 GB here), its first full collection waits for hundreds
 * of MB and later ones for up to four times the live data, so their old generations kept growing
 * with the run (redactor 544 MB, loader 319 MB RSS at 85,800 records). With 256 MB, full
 * collections come at ~1.3 times the live data (redactor ~50 MB plus ~70 MB for a full
 * 100,000-patient directory, loader ~30 MB): 222 and 174 MB RSS, for about 10-15% more CPU per
 * record in each (more full collections; ~8 µs in the loader). The extractor and the validator are
 * left without it: their Kafka and download Buffers get promoted, and the same limit tripled their
 * full collections (20-40% more CPU per record). It is a hard limit: a process whose live heap
 * outgrows it ends with a heap out-of-memory error (docs/operations.md).
 *
 * @see https://nodejs.org/api/cli.html#--max-semi-space-sizesize-in-mib
 * @see https://nodejs.org/api/cli.html#--max-old-space-sizesize-in-mib
 */
export const SERVICE_NODE_OPTIONS = '--max-semi-space-size=16';

/** What a service adds to {@link SERVICE_NODE_OPTIONS}. */
const OWN_NODE_OPTIONS: Readonly<Record<string, string>> = {
  redactor: '--max-old-space-size=256',
  loader: '--max-old-space-size=256',
};

/** The heap options `service` (a name under services/) starts with. */
export function serviceNodeOptions(service: string): string {
  const own = OWN_NODE_OPTIONS[service];
  return own === undefined ? SERVICE_NODE_OPTIONS : `${SERVICE_NODE_OPTIONS} ${own}`;
}

/**
 * `NODE_OPTIONS` for a process of `service`: its heap options, then what `current` already holds
 * (later options win, so an operator's or a profiler's own setting overrides a default).
 */
export function withServiceNodeOptions(service: string, current: string | undefined): string {
  const own = current?.trim() ?? '';
  const defaults = serviceNodeOptions(service);
  return own === '' ? defaults : `${defaults} ${own}`;
}
