#!/usr/bin/env bash
# The test command (`npm test`): brings up the local stack (idempotent: reuses what is running),
# registers the schemas, then runs the unit and integration suites against the real stack.
# Extra arguments go to vitest, e.g. `npm test -- --project unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then
  sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi

bash deploy/local/stack up
# TLS applies to the shared stack only; tests that start their own broker must not inherit it.
unset STACK_TLS
eval "$(STACK_TLS= bash deploy/local/stack env | sed 's/^/export /')"
node libs/contracts/src/cli.ts register
node services/redactor/src/cli.ts register-schemas
exec vitest run "$@"
