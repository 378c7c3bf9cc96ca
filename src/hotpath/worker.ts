// A piscina worker: one WASM instance over the pool's shared memory (see poolMemory).
// Tasks name exports and pass addresses, so no bytes are cloned or copied between threads.
import { workerData } from 'node:worker_threads';
import { instantiate } from './instance.js';
import { SCRATCH_ARG, type PoolCall } from './instance.js';

const { memory, scratches } = workerData as { memory: WebAssembly.Memory; scratches: number[] };
const exports = instantiate(memory);
// Each worker takes a distinct scratch area: piscina gives no worker index, so workers
// claim one from a shared counter passed in workerData.
const counter = (workerData as { counter: Int32Array }).counter;
const slot = Atomics.add(counter, 0, 1);
if (slot >= scratches.length) throw new Error(`strata: hot-path pool has no scratch slot for worker ${slot}`);
const scratch = scratches[slot];

export default function run(calls: PoolCall[]): unknown[] {
  const out: unknown[] = new Array(calls.length);
  for (let i = 0; i < calls.length; i++) {
    const [name, ...args] = calls[i];
    const fn = exports[name];
    if (typeof fn !== 'function') throw new TypeError(`hot path has no export ${name}`);
    out[i] = fn(...args.map((a) => (a === SCRATCH_ARG ? scratch : a)));
  }
  return out;
}
