#!/usr/bin/env bash
# npm run demo -- [options]: the whole pipeline against a simulated EHR with production faults.
# Starts the local stack (idempotent), registers the pipeline schemas and the redactor's clean
# schemas, then runs tools/demo/src/demo.ts with the given options (see --help).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$repo/node_modules/.bin:$PATH"
cd "$repo"

for arg in "$@"; do
  if [[ "$arg" == --help || "$arg" == -h ]]; then exec node tools/demo/src/demo.ts --help; fi
done

bash deploy/local/stack up
# The services read these; the stack prints the ones for this machine.
set -a
# shellcheck disable=SC1090
source <(bash deploy/local/stack env)
set +a
npm run --silent schemas -- register
node services/redactor/src/cli.ts register-schemas
exec node tools/demo/src/demo.ts "$@"
