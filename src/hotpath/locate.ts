import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: the nearest ancestor of this file that holds package.json.
 * Source (vitest) and compiled (dist/) code sit at different depths below it. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('strata: cannot find the package root (no package.json above ' + fileURLToPath(import.meta.url) + ')');
    dir = up;
  }
}

/** The hot path's build for a private memory (`shared` false) or for one shared between threads. */
export function wasmPath(shared = false): string {
  return join(packageRoot(), 'build', shared ? 'strata-shared.wasm' : 'strata.wasm');
}

/** Workers must be plain JavaScript on Node 20, so the pool always loads the compiled worker. */
export function workerPath(): string {
  return join(packageRoot(), 'dist', 'src', 'hotpath', 'worker.js');
}
