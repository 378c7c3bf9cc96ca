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

// The export table of build/strata.wasm. Numbers are byte addresses in the shared memory.
export type WasmExports = Record<string, (...args: any[]) => any> & { heapBase(): number };

let compiled: WebAssembly.Module | undefined;

export function wasmModule(): WebAssembly.Module {
  if (compiled) return compiled;
  const path = wasmPath();
  if (!existsSync(path)) {
    throw new Error(`strata: the hot path is not built (${path} is missing); run \`npm run build\` in the package root`);
  }
  compiled = new WebAssembly.Module(readFileSync(path));
  return compiled;
}

export function newSharedMemory(): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES, shared: true });
}

export function instantiate(memory: WebAssembly.Memory): WasmExports {
  const instance = new WebAssembly.Instance(wasmModule(), {
    env: {
      memory,
      abort(_msg: number, _file: number, line: number, col: number): never {
        throw new Error(`strata: hot path aborted at ${line}:${col}`);
      },
    },
  });
  return instance.exports as unknown as WasmExports;
}
