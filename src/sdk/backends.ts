// What a Volume stands on: the metadata engine its URL names and, from the volume's settings,
// its object store wrapped into a chunk store.
import { createChunkStore } from '../chunk/index.js';
import type { ChunkStore } from '../chunk/store.js';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseBlockSize } from '../config/size.js';
import { parseMetaUrl } from '../config/urls.js';
import { errnoError } from '../errors/errno.js';
import { formatMeta, openMeta, type Meta } from '../meta/index.js';
import { volumeNameProblem } from '../meta/volume-name.js';
import { canonicalStorageUrl, openObjectStore } from '../object/open.js';
import { PrefixedObjectStore } from '../object/prefix.js';

export interface FormatOptions {
  name: string;
  /** Storage URL of the objects, e.g. file:///var/lib/strata/data. Default for a new volume:
   * a "data" directory next to the SQLite file; for an existing one: unchanged. */
  storage?: string;
  /** Bytes per block: a power of two from 64 KiB to 16 MiB (default 4 MiB). */
  blockSize?: number;
  /** Days deleted files stay in the trash (default 1; 0 disables the trash). */
  trashDays?: number;
  /** Capacity in bytes (0 = unlimited). */
  capacity?: number;
  /** Maximum number of inodes (0 = unlimited). */
  inodeLimit?: number;
  /** Allow pointing an existing volume at another storage URL. */
  force?: boolean;
}

export interface FormatResult {
  created: boolean;
  /** What re-running format changed on an existing volume. */
  changed: string[];
}

export interface Backends {
  meta: Meta & { expireTrash(): Promise<number> };
  store: ChunkStore;
  volumeName: string;
  close(): Promise<void>;
}

/** A SQLite volume keeps its objects in "data" next to the database file by default. */
export function defaultStorage(metaUrl: string): string {
  const url = parseMetaUrl(metaUrl);
  const base = url.kind === 'sqlite' && url.path !== ':memory:' ? dirname(url.path) : process.cwd();
  return `file://${resolve(base, 'data')}`;
}

function sqliteFile(metaUrl: string): string {
  const url = parseMetaUrl(metaUrl);
  return url.kind === 'sqlite' ? url.path : '';
}

function badFormat(detail: string): never {
  throw errnoError('EINVAL', 'format', undefined, detail);
}

export async function formatVolume(metaUrl: string, options: FormatOptions): Promise<FormatResult> {
  if (options === null || typeof options !== 'object') badFormat('format options must be an object');
  const problem = volumeNameProblem(options.name);
  if (problem) badFormat(problem);
  if (options.storage !== undefined && typeof options.storage !== 'string') badFormat('options.storage must be a storage URL such as file:///var/lib/strata/data');
  const storage = canonicalStorageUrl(options.storage ?? defaultStorage(metaUrl));
  const blockSize = options.blockSize === undefined ? undefined : parseBlockSize(options.blockSize);
  const trashDays = options.trashDays;
  const keepStorage = options.storage === undefined && existsSync(sqliteFile(metaUrl));
  if (!keepStorage) {
    // The data directory is made first: a volume whose storage cannot be created is never recorded.
    const objects = await openObjectStore(storage, { create: true });
    await objects.close();
  }
  const { meta, created, changed } = formatMeta(metaUrl, {
    name: options.name, storage: keepStorage ? '' : storage, blockSize, trashDays, capacity: options.capacity, inodeLimit: options.inodeLimit,
  }, options.force ?? false);
  await meta.close();
  return { created, changed };
}

export async function openBackends(metaUrl: string, opts: { bufferSize?: number; maxUploads?: number; maxReads?: number; memoryCacheSize?: number; durable?: boolean }): Promise<Backends> {
  const meta = openMeta(metaUrl, { durable: opts.durable });
  try {
    const settings = await meta.settings();
    const objects = new PrefixedObjectStore(await openObjectStore(settings.storage, { durable: opts.durable === true }), settings.name);
    const store = createChunkStore(objects, { blockSize: settings.blockSize, bufferSize: opts.bufferSize, maxUploads: opts.maxUploads, maxReads: opts.maxReads, memoryCacheSize: opts.memoryCacheSize });
    return {
      meta, store, volumeName: settings.name,
      async close() {
        let first: unknown = null;
        await store.close().catch((err: unknown) => { first ??= err; });
        await meta.close().catch((err: unknown) => { first ??= err; });
        if (first) throw first;
      },
    };
  } catch (err) {
    await meta.close();
    throw err;
  }
}
