#!/usr/bin/env bash
# npm run bench:mllp -- [options]: MLLP receiver throughput (durable-ACKed msgs/s, 10 senders) and
# ACK latency at half that rate, on the local stack. Options: see --help.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$repo/node_modules/.bin:$PATH"
cd "$repo"

for arg in "$@"; do
  if [[ "$arg" == --help || "$arg" == -h ]]; then exec node tools/bench/src/mllp-bench.ts --help; fi
done

bash deploy/local/stack up
set -a
# shellcheck disable=SC1090
source <(bash deploy/local/stack env)
EHRFLOW_MODE=development
set +a
exec node tools/bench/src/mllp-bench.ts "$@"
