#!/usr/bin/env bash
# Sets up and runs Strata's main job on the embedded default: a volume in ./.strata (SQLite
# metadata + local-directory objects), formatted the first time, mounted with FUSE at ./.strata/mnt
# until Ctrl-C (which unmounts and flushes). Where FUSE cannot work, says why and runs the SDK demo
# instead. Extra arguments go to `strata mount` (e.g. --writeback-cache).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
meta="sqlite3://$PWD/.strata/meta.db"
strata() { node dist/src/cli/main.js "$@"; }
[ -f .strata/meta.db ] || strata format "$meta" strata
mkdir -p .strata/mnt
if why=$(node -e "import('./dist/src/fuse/native.js').then((m) => { const w = m.fuseUnavailable(); if (w) { console.log(w); process.exit(1); } })"); then
  echo "Mounting the volume at $PWD/.strata/mnt — use it from another shell; Ctrl-C unmounts."
  exec node dist/src/cli/main.js mount "$meta" "$PWD/.strata/mnt" "$@"
else
  echo "No FUSE mount on this machine: $why"
  echo "Running the SDK demo on the same volume instead."
  exec node dist/src/cli/main.js demo "$meta"
fi
