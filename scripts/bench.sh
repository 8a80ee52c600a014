#!/usr/bin/env bash
# npm run bench -- [options]: end-to-end throughput and latency beside the broker's own limit and a
# pass-through pipeline, on the local stack. Prints a table and writes JSON (--out PATH).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$repo/node_modules/.bin:$PATH"
cd "$repo"

for arg in "$@"; do
  if [[ "$arg" == --help || "$arg" == -h ]]; then exec node tools/bench/src/bench.ts --help; fi
done

bash deploy/local/stack up
set -a
# shellcheck disable=SC1090
source <(bash deploy/local/stack env)
set +a
exec node tools/bench/src/bench.ts "$@"
