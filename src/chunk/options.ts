// Options of a chunk store, checked once at creation: a bad value is refused with its name.
import { resolve } from 'node:path';
import type { CacheVerify, DiskCacheOptions } from './disk-cache.js';
import type { BlockPeers } from './peers.js';
import type { ObjectStore } from '../object/store.js';

export const DEFAULT_BLOCK_SIZE = 4 * 1024 * 1024;
export const DEFAULT_BUFFER_SIZE = 300 * 1024 * 1024;
export const DEFAULT_MAX_UPLOADS = 20;
export const DEFAULT_MAX_READS = 32;
export const DEFAULT_MEMORY_CACHE_SIZE = 64 * 1024 * 1024;
const MIN_BLOCK_SIZE = 64 * 1024;
const MAX_BLOCK_SIZE = 16 * 1024 * 1024;
// Write buffers live in the hot path's 4 GiB WASM memory, next to read buffers and scratch.
const MAX_BUFFER_SIZE = 2 * 1024 * 1024 * 1024;

export interface ChunkStoreOptions {
  /** Bytes per stored block: a power of two in 64 KiB..16 MiB (default 4 MiB). */
  blockSize?: number;
  /** Memory for buffered writes, shared by every writer of the store (default 300 MiB). */
  bufferSize?: number;
  /** Block uploads in flight at once (default 20). */
  maxUploads?: number;
  /** Block fetches in flight at once (default 32). */
  maxReads?: number;
  /** Memory for recently read, verified blocks (default 64 MiB; 0 keeps none). */
  memoryCacheSize?: number;
  /** A local disk cache of blocks (none by default); `size` 0 turns it off. */
  cache?: DiskCacheOptions;
  /** Keeps volumes apart in shared cache directories (the volume's uuid). */
  cacheNamespace?: string;
  /** A cache group: other hosts' caches, asked before object storage. */
  peers?: BlockPeers;
  /** The volume's name, which labels the store's metrics (default 'default'). */
  volume?: string;
  /** Where imported slices' objects are read from (the volume's storage location, above its own
   * prefix); without it a read of an imported file is EIO. */
  linked?: () => Promise<ObjectStore>;
}

export type ResolvedOptions = Required<Omit<ChunkStoreOptions, 'cache' | 'peers' | 'linked'>> & { cache: DiskCacheOptions | null; peers: BlockPeers | null; linked: (() => Promise<ObjectStore>) | null };

const VERIFY_LEVELS: readonly CacheVerify[] = ['none', 'full', 'partial'];

function resolveCache(c: DiskCacheOptions | undefined): DiskCacheOptions | null {
  if (c === undefined) return null;
  if (typeof c !== 'object' || c === null) throw new TypeError('cache must be an object');
  if (!Array.isArray(c.dirs) || c.dirs.some((d) => typeof d !== 'string' || d.length === 0 || d.includes('\0'))) {
    throw new TypeError('cache.dirs must be a list of directory paths');
  }
  const size = c.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < -1) throw new RangeError(`cache.size must be a byte count, or -1 for no limit but free space; got ${String(size)}`);
  const ratio = c.freeSpaceRatio ?? 0.1;
  if (typeof ratio !== 'number' || !(ratio >= 0 && ratio <= 0.9)) throw new RangeError(`cache.freeSpaceRatio must be a number in 0..0.9, got ${String(ratio)}`);
  const verify = c.verify ?? 'full';
  if (!VERIFY_LEVELS.includes(verify)) throw new RangeError(`cache.verify must be one of ${VERIFY_LEVELS.join(', ')}; got ${String(verify)}`);
  if (c.dirs.length === 0 || size === 0) return null;
  return { ...c, dirs: [...new Set(c.dirs.map((d) => resolve(d)))], size, freeSpaceRatio: ratio, verify };
}

function intOption(name: string, v: unknown, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number') throw new TypeError(`${name} must be a number, got ${v === null ? 'null' : typeof v}`);
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${v}`);
  return v;
}

export function resolveOptions(options: ChunkStoreOptions = {}): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const blockSize = intOption('blockSize', options.blockSize, DEFAULT_BLOCK_SIZE, MIN_BLOCK_SIZE, MAX_BLOCK_SIZE);
  if ((blockSize & (blockSize - 1)) !== 0) throw new RangeError(`blockSize must be a power of two in 64 KiB..16 MiB, got ${blockSize}`);
  // A writer must always be able to hold one whole block, or it could wait forever.
  const bufferSize = intOption('bufferSize', options.bufferSize, Math.max(DEFAULT_BUFFER_SIZE, blockSize), blockSize, MAX_BUFFER_SIZE);
  const maxUploads = intOption('maxUploads', options.maxUploads, DEFAULT_MAX_UPLOADS, 1, 1024);
  const maxReads = intOption('maxReads', options.maxReads, DEFAULT_MAX_READS, 1, 1024);
  const memoryCacheSize = intOption('memoryCacheSize', options.memoryCacheSize, DEFAULT_MEMORY_CACHE_SIZE, 0, MAX_BUFFER_SIZE);
  const cache = resolveCache(options.cache);
  const cacheNamespace = options.cacheNamespace ?? 'default';
  if (typeof cacheNamespace !== 'string' || !/^[A-Za-z0-9._-]+$/.test(cacheNamespace)) throw new TypeError(`cacheNamespace must be a plain name, got ${String(cacheNamespace)}`);
  return { blockSize, bufferSize, maxUploads, maxReads, memoryCacheSize, cache, cacheNamespace, peers: options.peers ?? null, volume: options.volume ?? 'default', linked: options.linked ?? null };
}
