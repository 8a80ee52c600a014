import { setFlagsFromString } from 'node:v8';

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

/**
 * glibc malloc settings of every service process, read by the C library when the process starts
 * (so environment variables, not `NODE_OPTIONS`): the image sets them as `ENV`, the manifests as
 * each Deployment's variables, the local launchers in every service's environment. Node allocates
 * Buffer memory (Kafka fetch responses and produce requests, socket reads, download chunks) with
 * malloc, and by default glibc keeps what is freed:
 *
 * - `MALLOC_TRIM_THRESHOLD_=131072`: with any of the threshold variables set, glibc stops raising
 *   its mmap threshold as large blocks are freed (by default it climbs to 32 MB, after which
 *   megabyte-sized Kafka buffers come from the heap and their pages stay with the process when
 *   freed). Blocks of 128 KiB and more are then mapped on their own and returned on free, and free
 *   space above 128 KiB at the top of a heap is returned too.
 * - `MALLOC_ARENA_MAX=2`: glibc gives each thread that allocates (V8's GC helpers, libuv's thread
 *   pool) an arena of its own, up to 8 per core, and each keeps its freed memory; two suffice for
 *   a process whose JavaScript runs on one thread.
 *
 * Peak RSS with `npm run bench -- --only end-to-end --patients 3000` (medians, 3 runs without and
 * 8 with): extractor 265 → 250 MB, validator 284 → 274 MB, redactor 226 → 215 MB, loader 171 →
 * 162 MB, CPU per record unchanged within the runs' spread. What the validator still holds at its
 * peak is V8's: ~110-120 MB of heap and ~80 MB of Buffers awaiting collection (V8 collects for
 * external memory once it grew by 64 MB). musl-based images ignore these variables.
 *
 * @see https://www.gnu.org/software/libc/manual/html_node/Memory-Allocation-Tunables.html
 * @see https://man7.org/linux/man-pages/man3/mallopt.3.html
 */
export const SERVICE_MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_TRIM_THRESHOLD_: '131072',
};

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
function withServiceNodeOptions(service: string, current: string | undefined): string {
  const own = current?.trim() ?? '';
  const defaults = serviceNodeOptions(service);
  return own === '' ? defaults : `${defaults} ${own}`;
}

/**
 * The runtime variables a process of `service` starts with beside its own configuration:
 * `NODE_OPTIONS` ({@link withServiceNodeOptions}) and the malloc settings
 * ({@link SERVICE_MALLOC_ENV}); a malloc variable already in `current` is kept (an operator's
 * own value wins). Spread it over the process environment a launcher builds.
 */
export function serviceRuntimeEnv(service: string, current: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = { NODE_OPTIONS: withServiceNodeOptions(service, current.NODE_OPTIONS) };
  for (const [name, value] of Object.entries(SERVICE_MALLOC_ENV)) out[name] = current[name] ?? value;
  return out;
}

/**
 * V8's heap growing factor (`--heap-growing-percent`) per service: after a full collection V8 lets
 * the heap grow to (1 + percent/100) times what survived before the next one, instead of its own
 * factor (up to four times when collections are fast). The extractor (75) and the validator (100)
 * promote most of a chunk's Buffers (download chunks, envelopes, Kafka requests and responses: each
 * lives through a produce round trip), and those Buffers' memory goes back only at a full
 * collection. With V8's factor and its 64 MB allowance for external memory, the two peaked at
 * 256-295 MB RSS in `npm run bench -- --only end-to-end --patients 3000`; with these, at 230-236
 * MB (four runs), for ~6 µs (extractor) and ~6-9 µs (validator) more CPU per record, from a few
 * more full collections. The redactor and the loader are bounded by `--max-old-space-size`
 * instead (their live heap is larger and steady).
 *
 * Not a `NODE_OPTIONS` flag (Node refuses it there), so {@link applyServiceHeapFlags} sets it when
 * the stage starts (V8 reads it at every collection); a `--heap-growing-percent` on the `node`
 * command line wins.
 *
 * @see https://v8.dev/blog/trash-talk
 */
const HEAP_GROWING_PERCENT: Readonly<Record<string, number>> = { extractor: 75, validator: 100 };

/** The heap growing percent a process of `service` runs with, or undefined for V8's own. */
export function serviceHeapGrowingPercent(service: string): number | undefined {
  return HEAP_GROWING_PERCENT[service];
}

/**
 * Sets the service's heap growing percent ({@link serviceHeapGrowingPercent}) unless the command
 * line sets one. Returns the value applied, if any. `execArgv` and `setFlags` are seams for tests.
 */
export function applyServiceHeapFlags(
  service: string,
  execArgv: readonly string[] = process.execArgv,
  setFlags: (flags: string) => void = setFlagsFromString,
): number | undefined {
  const percent = serviceHeapGrowingPercent(service);
  if (percent === undefined || execArgv.some((arg) => arg.startsWith('--heap-growing-percent')))
    return undefined;
  setFlags(`--heap-growing-percent=${percent}`);
  return percent;
}
