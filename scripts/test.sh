#!/usr/bin/env bash
# Sets up (packages, dependencies, builds) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
printf '\033[1m[test]\033[0m %s\n' "type-check (src, bench, test)"
npx --no-install tsc -p tsconfig.test.json
printf '\033[1m[test]\033[0m %s\n' "vitest"
# A test whose part (FUSE, a tool, a server) is missing fails here instead of skipping.
STRATA_TEST_STRICT=1 npx --no-install vitest run "$@"
