// One module, one .wasm: every hot-path export is re-exported here.
// Memory is imported and shared between the main thread and the pool's workers,
// so no export may keep mutable state in static memory: callers pass scratch space.

export function heapBase(): usize {
  return __heap_base;
}
export * from './xxh3';
export * from './crc32c';
export * from './slices';
export * from './readahead';
