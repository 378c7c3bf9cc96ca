// What a Volume stands on: the metadata engine its URL names and, from the volume's settings,
// its object store wrapped into a chunk store.
import { createChunkStore } from '../chunk/index.js';
import type { ChunkStore } from '../chunk/store.js';
import type { DiskCacheOptions } from '../chunk/disk-cache.js';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseBlockSize } from '../config/size.js';
import { parseMetaUrl, parseStorageUrl, redactUrl } from '../config/urls.js';
import { errnoError } from '../errors/errno.js';
import { formatMeta, openMeta, volumeExists, type Meta } from '../meta/index.js';
import { volumeNameProblem } from '../meta/volume-name.js';
import { canonicalStorageUrl, openObjectStore } from '../object/open.js';
import type { ObjectStore } from '../object/store.js';
import { WritebackObjectStore } from '../object/writeback.js';
import { KEY_ENV, loadSealingKey, storeCredentials, type StorageCredentials } from '../object/s3-credentials.js';
import { openVolumeObjects, lazyStorageRoot, primaryStoreSpec } from '../object/volume-store.js';
import { MirrorObjectStore } from '../mirror/object-store.js';
import { CacheGroup, type CacheGroupOptions } from '../cachegroup/group.js';
import { mirrorWritesMeta, type MirrorWritesOptions } from '../mirror/writes-meta.js';
import { measuredMeta } from '../meta/metrics.js';
import { sampleVolume } from './metrics.js';

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
  /** S3 credentials to store in the volume's settings (or give them in the storage URL). */
  accessKey?: string;
  secretKey?: string;
  /** Store the credentials encrypted, under the secret in STRATA_KEY or `keyFile`. */
  encryptKeys?: boolean;
  keyFile?: string;
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
  /** The object store the chunk store writes to (write-back's, when on). */
  objects: ObjectStore;
  /** The cache group this process is in, if any. */
  group: CacheGroup | null;
  /** The volume's storage location above its own prefix, where imported files' objects are. */
  linked(): Promise<ObjectStore>;
  close(): Promise<void>;
}

/** A SQLite volume keeps its objects in "data" next to the database file by default. */
export function defaultStorage(metaUrl: string): string {
  const url = parseMetaUrl(metaUrl);
  const base = url.kind === 'sqlite' && url.path !== ':memory:' ? dirname(url.path) : process.cwd();
  return `file://${resolve(base, 'data')}`;
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
  // An existing volume keeps its storage unless told otherwise.
  const keepStorage = options.storage === undefined && await volumeExists(metaUrl);
  const credentials = formatCredentials(options, options.storage ?? storage);
  if (!keepStorage) {
    // The data directory or bucket is made first: a volume whose storage cannot be created is never recorded.
    const objects = await openObjectStore(storage, { create: true, ...credentials?.given });
    await objects.close();
  }
  const { meta, created, changed } = await formatMeta(metaUrl, {
    name: options.name, storage: keepStorage ? '' : storage, blockSize, trashDays, capacity: options.capacity, inodeLimit: options.inodeLimit,
    storageCredentials: credentials?.stored,
  }, options.force ?? false);
  await meta.close();
  return { created, changed };
}

/** The credentials format was given (flags or URL), checked, and in the form settings keep. */
export function formatCredentials(options: Pick<FormatOptions, 'accessKey' | 'secretKey' | 'encryptKeys' | 'keyFile'>, storage: string): { given: StorageCredentials; stored: string } | undefined {
  const url = parseStorageUrl(storage);
  const fromFlags = options.accessKey !== undefined || options.secretKey !== undefined;
  const fromUrl = url.kind === 's3' && url.accessKey !== undefined;
  if (fromFlags && url.kind === 'file') badFormat('--access-key/--secret-key are for S3 storage; a local directory takes no credentials');
  if (fromFlags && fromUrl) badFormat('credentials were given twice, in the storage URL and as --access-key/--secret-key; give them once');
  if (fromFlags && (!options.accessKey || !options.secretKey)) badFormat('give both --access-key and --secret-key');
  const given = fromFlags ? { accessKey: options.accessKey!, secretKey: options.secretKey! } : fromUrl ? { accessKey: url.accessKey!, secretKey: url.secretKey! } : undefined;
  if (options.encryptKeys !== true) {
    if (options.keyFile !== undefined) badFormat('--key-file is for --encrypt-keys');
    return given && { given, stored: storeCredentials(given) };
  }
  if (given === undefined) badFormat('--encrypt-keys has nothing to encrypt: give --access-key and --secret-key (or key:secret@ in the storage URL)');
  const secret = loadSealingKey({ keyFile: options.keyFile });
  if (secret === undefined) badFormat(`--encrypt-keys needs the key to encrypt with: set ${KEY_ENV} or pass --key-file FILE`);
  return { given, stored: storeCredentials(given, secret) };
}

export interface OpenBackendsOptions {
  bufferSize?: number;
  maxUploads?: number;
  maxReads?: number;
  memoryCacheSize?: number;
  durable?: boolean;
  /** Metadata servers: a statement's answer timeout, and how long a lost server is retried (ms). */
  metaStatementTimeoutMs?: number;
  metaRetryMs?: number;
  /** File holding the key that decrypts stored storage credentials (default: STRATA_KEY / STRATA_KEY_FILE). */
  keyFile?: string;
  /** Retries per object-storage request before EIO. */
  ioRetries?: number;
  /** Per-attempt timeout of object-storage requests (ms). */
  requestTimeoutMs?: number;
  /** The local disk cache of blocks (see Volume's options). */
  cache?: DiskCacheOptions;
  /** The disk cache to use when `cache` is not given and the storage is not a local directory. */
  remoteCache?: DiskCacheOptions;
  /** Stage written blocks in the first cache directory and upload them in the background. */
  writeback?: boolean;
  /** Called when a background upload failed (it is tried again). */
  onUploadError?: (key: string, err: unknown) => void;
  /** On a mirror: make changes through the primary (see mirror/writes-meta.ts). */
  mirrorWrites?: MirrorWritesOptions;
  /** Join this cache group. */
  cacheGroup?: CacheGroupOptions;
}

/** Where write-back stages a volume's blocks under a cache directory. */
export function stagingDir(cacheDir: string, volumeUuid: string): string {
  return join(resolve(cacheDir), volumeUuid, 'rawstaging');
}

export async function openBackends(metaUrl: string, opts: OpenBackendsOptions): Promise<Backends> {
  const engine = await openMeta(metaUrl, { durable: opts.durable, statementTimeoutMs: opts.metaStatementTimeoutMs, connectionRetryMs: opts.metaRetryMs });
  let meta: Backends['meta'] = engine;
  try {
    const settings = await meta.settings();
    if (opts.mirrorWrites) {
      if (!settings.mirror) throw errnoError('EINVAL', 'open', undefined, `mirror writes are for a mirror, and ${redactUrl(metaUrl)} holds the primary of "${settings.name}": open it without them`);
      meta = await mirrorWritesMeta(engine, opts.mirrorWrites);
    }
    const cache = opts.cache ?? (settings.storage.startsWith('file:') ? undefined : opts.remoteCache);
    if (opts.writeback && (!cache || cache.dirs.length === 0 || cache.size === 0)) {
      throw errnoError('EINVAL', 'open', undefined, 'write-back stages blocks in the disk cache, and this volume has none here: give a cache directory (--cache-dir DIR / cacheDir)');
    }
    const storeOptions = { durable: opts.durable === true, ioRetries: opts.ioRetries, requestTimeoutMs: opts.requestTimeoutMs, keyFile: opts.keyFile };
    let objects = await openVolumeObjects(primaryStoreSpec(settings), storeOptions);
    const mirrorStorage = settings.mirror?.storage;
    if (mirrorStorage !== undefined) {
      const own = await openVolumeObjects({ name: settings.name, storage: mirrorStorage, storageCredentials: settings.mirror!.storageCredentials }, { ...storeOptions, store: 'mirror' })
        .catch(async (err: unknown) => { await objects.close(); throw err; });
      objects = new MirrorObjectStore(own, objects);
    }
    if (opts.writeback) {
      objects = await WritebackObjectStore.open(objects, stagingDir(cache!.dirs[0], settings.uuid), { maxUploads: opts.maxUploads, onError: opts.onUploadError });
    }
    const group = opts.cacheGroup
      ? await CacheGroup.open(meta, objects, { ...opts.cacheGroup, volume: settings.name, sealingKey: opts.cacheGroup.sealingKey ?? loadSealingKey({ keyFile: opts.keyFile }) })
        .catch(async (err: unknown) => { await objects.close(); throw err; })
      : null;
    const linked = lazyStorageRoot(primaryStoreSpec(settings), storeOptions);
    let store: ReturnType<typeof createChunkStore>;
    try {
      store = createChunkStore(objects, {
        blockSize: settings.blockSize, bufferSize: opts.bufferSize, maxUploads: opts.maxUploads, maxReads: opts.maxReads, memoryCacheSize: opts.memoryCacheSize,
        cache, cacheNamespace: settings.uuid, peers: group ?? undefined, volume: settings.name, linked: linked.get,
      });
    } catch (err) {
      await group?.close().catch(() => undefined);
      await objects.close().catch(() => undefined);
      throw err;
    }
    if (group?.sharing) {
      await group.serve(store.cache, settings.blockSize).catch(async (err: unknown) => {
        await store.close().catch(() => undefined);
        await objects.close().catch(() => undefined);
        throw err;
      });
    }
    const stopSampling = sampleVolume(settings.name, meta, objects);
    meta = measuredMeta(meta, settings.name, parseMetaUrl(metaUrl).kind);
    return {
      meta, store, volumeName: settings.name, objects, group, linked: linked.get,
      async close() {
        stopSampling();
        let first: unknown = null;
        await store.close().catch((err: unknown) => { first ??= err; });
        await linked.close().catch(() => undefined);
        // Write-back uploads what is staged here (what fails stays staged for the next open).
        await objects.close().catch((err: unknown) => { first ??= err; });
        await meta.close().catch((err: unknown) => { first ??= err; });
        if (first) throw first;
      },
    };
  } catch (err) {
    await meta.close();
    throw err;
  }
}
