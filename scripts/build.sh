#!/usr/bin/env bash
# Compiles the WebAssembly hot path (assembly/ -> build/strata.wasm for the main thread's private
# memory, build/strata-shared.wasm for the worker pool's shared memory), the native FUSE addon
# (native/ -> native/build/Release/strata_fuse.node, when libfuse3-dev is there) and the TypeScript (src/ -> dist/).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1m[build]\033[0m %s\n' "$*"; }

say "hot path: asc assembly/ -> build/strata.wasm, build/strata-shared.wasm (release, SIMD)"
npx --no-install asc assembly/index.ts --config assembly/asconfig.json --target release
npx --no-install asc assembly/index.ts --config assembly/asconfig.json --target shared

# The FUSE addon is optional: without libfuse the SDK and CLI still work and `strata mount` says why.
say "native: node-gyp -> native/build/Release/strata_fuse.node"
mkdir -p build
if [ ! -f native/build/Release/strata_fuse.node ] || [ -n "$(find native -maxdepth 1 -newer native/build/Release/strata_fuse.node \( -name '*.cc' -o -name '*.h' -o -name binding.gyp \) | head -1)" ]; then
  # Node's own headers when npm knows where they are (no download needed).
  nodedir=$(npm config get nodedir 2>/dev/null || true)
  gyp_args=()
  if [ -n "$nodedir" ] && [ -d "$nodedir/include/node" ]; then gyp_args+=("--nodedir=$nodedir"); fi
  (cd native && npx --no-install node-gyp rebuild "${gyp_args[@]}") >build/native-build.log 2>&1 \
    || say "native FUSE addon not built (see build/native-build.log); strata mount will say why"
fi

say "typescript: tsc -> dist/"
npx --no-install tsc -p tsconfig.json
