#!/usr/bin/env bash
# Sets up and runs Strata's main job on the embedded default.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node dist/bench/hotpath.js "$@"
