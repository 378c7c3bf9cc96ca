#!/usr/bin/env bash
# Sets up and runs Strata's main job on the embedded default: a volume in ./.strata (SQLite
# metadata + local-directory objects), a short SDK session that writes, reads back and verifies
# data, then the volume's status. Extra arguments go to `strata demo` (e.g. --size 1024).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node dist/src/cli/main.js demo "sqlite3://$PWD/.strata/meta.db" "$@"
