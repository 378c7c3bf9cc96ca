#!/usr/bin/env bash
# Compiles the WebAssembly hot path (assembly/ -> build/strata.wasm) and the TypeScript (src/ -> dist/).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1m[build]\033[0m %s\n' "$*"; }

say "hot path: asc assembly/ -> build/strata.wasm (release, SIMD)"
npx --no-install asc assembly/index.ts --config assembly/asconfig.json --target release

say "typescript: tsc -> dist/"
npx --no-install tsc -p tsconfig.json
