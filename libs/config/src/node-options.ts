/**
 * V8 heap options every long-running service starts with, in one place: the image sets them as
 * `ENV NODE_OPTIONS` (Containerfile), the Kubernetes manifests as each service's `NODE_OPTIONS`
 * (replaced by a service's own `NODE_OPTIONS` in its values `env`), and the local launcher of the demo, the benchmark and the tests
 * (tools/pipeline) passes them to every service process; a test checks the three agree.
 *
 * `--max-semi-space-size=16`: V8 grows each of the young generation's two semi-spaces to 32 MB on
 * a 64-bit machine with memory to spare (64 MB resident); a stage's per-chunk garbage dies within
 * 16 MB just as well (CPU per record unchanged within noise, 50-120 MB less RSS per stage).
 *
 * Not here: `--max-old-space-size`. A limit of 256-512 MB caps the old generation's growth at
 * about 1.3-1.4 times the live data (instead of up to 4 times), which keeps the redactor near
 * 210 MB instead of ~280 MB, but it tripled full collections in the extractor and the validator
 * (their Kafka and download Buffers are promoted) and cost 20-40% more CPU per record there.
 * An operator who prefers memory to CPU adds it to a service's NODE_OPTIONS (docs/operations.md).
 *
 * @see https://nodejs.org/api/cli.html#--max-semi-space-sizesize-in-mib
 */
export const SERVICE_NODE_OPTIONS = '--max-semi-space-size=16';

/**
 * `NODE_OPTIONS` for a service process: the service defaults, then what `current` already holds
 * (later options win, so an operator's or a profiler's own setting overrides a default).
 */
export function withServiceNodeOptions(current: string | undefined): string {
  const own = current?.trim() ?? '';
  return own === '' ? SERVICE_NODE_OPTIONS : `${SERVICE_NODE_OPTIONS} ${own}`;
}
