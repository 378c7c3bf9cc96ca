import { Piscina } from 'piscina';
import { cpus } from 'node:os';
import { existsSync } from 'node:fs';
import { workerPath } from './locate.js';
import { WasmMemory } from './memory.js';
import { SCRATCH_SIZE, type PoolCall } from './instance.js';


let pool: Piscina | undefined;
let shared: WasmMemory | undefined;

/** The memory the pool's workers share (not the main thread's, which is private and faster to
 * copy into and out of): bytes a pool task works on must be put here. */
export function poolMemory(): WasmMemory {
  return (shared ??= new WasmMemory(true));
}

export function poolSize(): number {
  return Math.max(1, Math.min(4, cpus().length));
}

function getPool(): Piscina {
  if (pool) return pool;
  const file = workerPath();
  if (!existsSync(file)) throw new Error(`strata: the hot-path worker is not built (${file} is missing); run \`npm run build\``);
  const mem = poolMemory();
  const threads = poolSize();
  const scratches = Array.from({ length: threads * 2 }, () => mem.alloc(SCRATCH_SIZE));
  const counter = new Int32Array(new SharedArrayBuffer(4));
  pool = new Piscina({
    filename: file,
    minThreads: threads,
    maxThreads: threads,
    // Workers are restarted on failure; each restart claims a new scratch slot, so keep spares
    // and never let idle workers exit and come back.
    idleTimeout: Infinity,
    workerData: { memory: mem.memory, scratches, counter },
  });
  return pool;
}

/** Run a batch of export calls on one worker; returns each call's result. */
export function runOnPool(calls: PoolCall[]): Promise<unknown[]> {
  return getPool().run(calls) as Promise<unknown[]>;
}

export async function closePool(): Promise<void> {
  const p = pool;
  pool = undefined;
  if (p) await p.destroy();
}
