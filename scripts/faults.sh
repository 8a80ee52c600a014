#!/usr/bin/env bash
# npm run faults -- [options]: the whole pipeline on a PRIVATE stack while its dependencies fail
# (see --help). Needs no shared stack: the suite starts Kafka, the registry, PostgreSQL and Redis
# of its own under .run/faults/stack on their own ports, and stops them at the end.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$repo/node_modules/.bin:$PATH"
cd "$repo"
# The shared stack's variables must not leak into the suite's services.
unset KAFKA_BROKERS SCHEMA_REGISTRY_URL REDIS_URL DATABASE_URL EHRFLOW_STACK_HOME STACK_TLS
exec node tools/faults/src/faults.ts "$@"
