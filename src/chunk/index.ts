// The data path: files as slices of immutable, checksummed blocks in object storage.
import type { ObjectStore } from '../object/store.js';
import { ObjectChunkStore } from './chunk-store.js';
import type { ChunkStoreOptions } from './options.js';

export { ObjectChunkStore, type ObjectChunkStoreStats } from './chunk-store.js';
export { DEFAULT_BLOCK_SIZE, DEFAULT_BUFFER_SIZE, DEFAULT_MAX_UPLOADS, DEFAULT_MAX_READS, type ChunkStoreOptions } from './options.js';
export { blockKey, parseBlockKey, sliceBlockKeys, blockLengthAt, blockCount, type BlockName } from './keys.js';
export { CHECKSUM_BYTES, verifyStoredBlock } from './blocks.js';
export * from './store.js';

/** A chunk store keeping blocks in `objects` (already scoped to the volume). */
export function createChunkStore(objects: ObjectStore, options?: ChunkStoreOptions): ObjectChunkStore {
  return new ObjectChunkStore(objects, options);
}
