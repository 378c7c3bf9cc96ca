import { readFileSync, existsSync } from 'node:fs';
import { wasmPath } from './locate.js';

/** Bytes of per-instance scratch space every export may use (custom XXH3 secrets, sort buffers, ...).
 * Instances share one memory, so static scratch would be shared too: each instance gets its own. */
export const SCRATCH_SIZE = 256 * 1024;
export const PAGE = 65536;
/** 4 GiB: the most a 32-bit WebAssembly memory can address; shared memories must declare a maximum. */
export const MAX_PAGES = 65536;
const INITIAL_PAGES = 64;

/** One call of a WASM export in a pool worker: [exportName, ...numeric args]. */
export type PoolCall = [string, ...(number | bigint)[]];
/** Pass this as an argument to have the worker substitute its own scratch address. */
export const SCRATCH_ARG = -1;

// The export table of the hot path (build/strata.wasm, build/strata-shared.wasm). Numbers are byte
// addresses in the memory the instance runs on.
export type WasmExports = Record<string, (...args: any[]) => any> & { heapBase(): number };

const compiled = new Map<boolean, WebAssembly.Module>();

/** The compiled hot path for a private memory or for a shared one (their memory imports differ). */
export function wasmModule(shared: boolean): WebAssembly.Module {
  let module = compiled.get(shared);
  if (module) return module;
  const path = wasmPath(shared);
  if (!existsSync(path)) {
    throw new Error(`strata: the hot path is not built (${path} is missing); run \`npm run build\` in the package root`);
  }
  module = new WebAssembly.Module(readFileSync(path));
  compiled.set(shared, module);
  return module;
}

/** A memory the pool's workers share; it grows on demand (growing never detaches a shared buffer). */
export function newSharedMemory(): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES, shared: true });
}

/**
 * The main thread's memory: private, because V8 copies into and out of a SharedArrayBuffer with
 * relaxed atomic word copies at half the speed of memcpy (measured 43 vs 23 µs per MiB), and every
 * byte a file system client reads or writes crosses that boundary once. Growing a private memory
 * would detach every Buffer over it, so it is made at its full 4 GiB at once; the OS commits pages
 * only when touched. Null when that much address space cannot be had.
 */
export function newPrivateMemory(): WebAssembly.Memory | null {
  try {
    return new WebAssembly.Memory({ initial: MAX_PAGES, maximum: MAX_PAGES });
  } catch {
    return null;
  }
}

export function instantiate(memory: WebAssembly.Memory): WasmExports {
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const instance = new WebAssembly.Instance(wasmModule(shared), {
    env: {
      memory,
      abort(_msg: number, _file: number, line: number, col: number): never {
        throw new Error(`strata: hot path aborted at ${line}:${col}`);
      },
    },
  });
  return instance.exports as unknown as WasmExports;
}
