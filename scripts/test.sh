#!/usr/bin/env bash
# Sets up (packages, dependencies, builds) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
printf '\033[1m[test]\033[0m %s\n' "type-check (src, bench, test)"
npx --no-install tsc -p tsconfig.test.json
printf '\033[1m[test]\033[0m %s\n' "vitest"
npx --no-install vitest run "$@"
