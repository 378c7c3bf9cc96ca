// Volume: the SDK's entry point. Opens a formatted volume (metadata URL -> meta engine, its
// storage -> object store -> chunk store), registers a vfs session, and serves node:fs/promises
// calls through PathApi.
import type { CacheGroup, CacheGroupOptions } from '../cachegroup/group.js';
import { constants as fsConstants } from 'node:fs';
import { createHash } from 'node:crypto';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import type { Caller } from '../vfs/permissions.js';
import { Vfs } from '../vfs/vfs.js';
import { PathApi } from './path-api.js';
import { invalidArgType } from './arg-errors.js';
import { openBackends, formatVolume, type Backends, type OpenBackendsOptions, type FormatOptions, type FormatResult } from './backends.js';
import type { DiskCacheOptions } from '../chunk/disk-cache.js';

export type { FormatOptions, FormatResult };

const DEFAULT_CACHE_SIZE = 10 * 1024 * 1024 * 1024;

/** Where blocks of remote volumes are cached unless told otherwise ($STRATA_CACHE_DIR first). */
export function defaultCacheDir(): string {
  if (process.env.STRATA_CACHE_DIR) return process.env.STRATA_CACHE_DIR;
  if (typeof process.getuid === 'function' && process.getuid() === 0) return '/var/cache/strata';
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'strata');
}

/** The disk cache asked for: explicit directories, or (cacheDir undefined) the default directory
 * used only when the volume's storage is remote. */
function cacheOptions(o: VolumeOptions): { cache?: DiskCacheOptions; remoteCache?: DiskCacheOptions } {
  const rest = {
    size: o.cacheSize ?? DEFAULT_CACHE_SIZE, freeSpaceRatio: o.freeSpaceRatio, verify: o.verifyCacheChecksum,
    cacheLargeWrite: o.cacheLargeWrite, cachePartialOnly: o.cachePartialOnly,
  };
  if (o.cacheDir === undefined) return { remoteCache: { dirs: [defaultCacheDir()], ...rest } };
  if (o.cacheDir === null) return {};
  const dirs = typeof o.cacheDir === 'string' ? [o.cacheDir] : o.cacheDir;
  if (!Array.isArray(dirs)) throw new TypeError('options.cacheDir must be a directory path, a list of them, or null for no disk cache');
  return { cache: { dirs, ...rest } };
}

export interface VolumeOptions {
  /** Caller identity for permission checks (default: this process's). */
  uid?: number;
  gid?: number;
  gids?: number[];
  /** Applied to modes of new files and directories (default: this process's umask). */
  umask?: number;
  /** Write-buffer memory of the chunk store (bytes). */
  bufferSize?: number;
  /** Block uploads in flight at once (default 20). */
  maxUploads?: number;
  /** Block downloads in flight at once (default 32). */
  maxDownloads?: number;
  /** Retries of a failing object-storage request before the caller gets EIO (default 10). */
  ioRetries?: number;
  /** An object-storage request still unanswered after this many ms is abandoned and retried
   * (default 60,000). */
  requestTimeoutMs?: number;
  /** PostgreSQL and MySQL: a metadata statement unanswered after this many ms gives its
   * connection up as dead (the server stalled, or its host vanished without resetting it), and
   * the call is retried on a new one (default 20,000; 0: wait as long as it takes). */
  metaStatementTimeoutMs?: number;
  /** PostgreSQL and MySQL: how long metadata calls keep retrying a server they lost before they
   * fail with EIO naming it (ms, default 60,000). */
  metaRetryMs?: number;
  /** File holding the key that unseals credentials stored with --encrypt-keys (default: the
   * STRATA_KEY or STRATA_KEY_FILE environment variable). */
  keyFile?: string;
  /** Memory for recently read, verified blocks (bytes, default 64 MiB). */
  memoryCacheSize?: number;
  /** Directories of a local disk cache of blocks, spread over them by key; null for none. By
   * default a volume on remote storage caches in defaultCacheDir() (~/.cache/strata, or
   * /var/cache/strata for root) and a file:// volume, local already, caches nothing. */
  cacheDir?: string | string[] | null;
  /** Bytes the disk cache may use in all (default 10 GiB); -1: no limit but `freeSpaceRatio`. */
  cacheSize?: number;
  /** Fraction of each cache file system kept free (default 0.1). */
  freeSpaceRatio?: number;
  /** How cached bytes are checked: 'none', 'full' (whole blocks), 'partial' (the 32 KiB pieces a
   * read touches, so small reads need not load whole blocks). Default 'full'. */
  verifyCacheChecksum?: 'none' | 'full' | 'partial';
  /** Also cache full blocks just written (by default only partial blocks written are cached). */
  cacheLargeWrite?: boolean;
  /** Cache only partial blocks, never full blocks read from the store. */
  cachePartialOnly?: boolean;
  /** Write-back: written blocks are staged in the (first) cache directory and uploaded in the
   * background, so flush/close commit at local-disk speed. Staged blocks of a crashed process are
   * uploaded by the next open with the same cache directory; until then only this host can read
   * them. Needs a disk cache. */
  writeback?: boolean;
  /** Told about background uploads that failed (they are retried). */
  onUploadError?: (key: string, err: unknown) => void;
  /** Session heartbeat period (ms, default 10 s). */
  heartbeatMs?: number;
  /** This client closes sessions of others silent this long (ms; default 5 minutes). Every
   * client of a volume should agree on it, and it must stay well above every heartbeat. */
  staleSessionMs?: number;
  /** How often this client looks for stale sessions and expired trash (ms; default 60 s). */
  housekeepingMs?: number;
  /** Period of the background loop deleting freed data (ms). */
  reclaimMs?: number;
  /** Bytes written to a file kept open are committed after this long (ms; default 10 minutes). */
  commitAfterMs?: number;
  /** A chunk this client commits this many slices to is compacted in the background once it holds
   * that many (default 100; 0: never). */
  compactThreshold?: number;
  /** Reads of an open file reuse its size and layout this long (ms, default 1000): another
   * client's writes show within it, this client's own changes, a new open and a stat at once.
   * 0: every read asks the metadata engine. */
  attrCacheMs?: number;
  /** Survive OS crashes and power loss, not only process crashes: every block and every metadata
   * transaction is fsynced (much slower for small files). Default false. */
  durable?: boolean;
  /** What this client is, as `strata status` lists sessions (default 'sdk'). */
  client?: string;
  /** Deleted files skip the trash and are freed at once (only for root callers). */
  skipTrash?: boolean;
  /** On a mirror: make changes through the primary, each returning once this mirror shows it
   * (read-your-writes). Without it a mirror is read-only (EROFS). */
  mirrorWrites?: boolean;
  /** The primary's metadata URL with its password, for mirrorWrites (default: STRATA_PRIMARY_META,
   * else the URL the mirror keeps, which has none). */
  primary?: string;
  /** How long a change may take to show on the mirror before the call fails (ms, default 10,000). */
  mirrorWaitMs?: number;
  /** Join a cache group: blocks are asked of its members before object storage (and, when
   * sharing, this client's disk cache serves them; see cachegroup/group.ts). */
  cacheGroup?: CacheGroupOptions;
}

/** What a Volume's options ask of its backends (also for processes that open no file system). */
export function volumeOptionsToBackends(options: VolumeOptions): OpenBackendsOptions {
  return {
    bufferSize: options.bufferSize, maxUploads: options.maxUploads, maxReads: options.maxDownloads, memoryCacheSize: options.memoryCacheSize,
    durable: options.durable === true, ioRetries: options.ioRetries, requestTimeoutMs: options.requestTimeoutMs, keyFile: options.keyFile, ...cacheOptions(options),
    metaStatementTimeoutMs: options.metaStatementTimeoutMs, metaRetryMs: options.metaRetryMs,
    writeback: options.writeback === true, onUploadError: options.onUploadError,
    mirrorWrites: options.mirrorWrites === true ? { primary: options.primary, waitMs: options.mirrorWaitMs } : undefined,
    cacheGroup: options.cacheGroup,
  };
}

function processCaller(): Caller {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const gid = typeof process.getgid === 'function' ? process.getgid() : 0;
  const gids = typeof process.getgroups === 'function' ? process.getgroups() : [];
  return { uid, gid, gids };
}

function checkId(name: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new RangeError(`options.${name} must be an integer in 0..4294967295, got ${String(v)}`);
  }
  return v;
}

function currentUmask(): number {
  // process.umask() with no argument reads it without changing it.
  return typeof process.umask === 'function' ? process.umask() : 0o022;
}

export class Volume extends PathApi {
  readonly constants = fsConstants;
  readonly metaUrl: string;
  readonly #backends: Backends;
  #closing: Promise<void> | null = null;

  private constructor(vfs: Vfs, backends: Backends, caller: Caller, umask: number, metaUrl: string) {
    // st_dev: a stable number per volume, so tools comparing (dev, ino) see one file system.
    const dev = createHash('sha256').update(backends.volumeName).digest().readUInt32BE(0) & 0x7fffffff;
    super(vfs, caller, dev, umask);
    this.#backends = backends;
    this.metaUrl = metaUrl;
  }

  /** The cache group this volume's client is in (VolumeOptions.cacheGroup), or null. */
  get cacheGroup(): CacheGroup | null {
    return this.#backends.group;
  }

  /** The volume's name, as formatted. */
  get name(): string {
    return this.#backends.volumeName;
  }

  /** Open an existing, formatted volume. */
  static async open(metaUrl: string, options: VolumeOptions = {}): Promise<Volume> {
    if (typeof metaUrl !== 'string') throw invalidArgType('metaUrl', 'of type string', metaUrl);
    if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options);
    const defaults = processCaller();
    const caller: Caller = {
      uid: checkId('uid', options.uid) ?? defaults.uid,
      gid: checkId('gid', options.gid) ?? defaults.gid,
      gids: options.gids ?? (options.uid !== undefined || options.gid !== undefined ? [] : defaults.gids),
    };
    if (!Array.isArray(caller.gids)) throw new TypeError('options.gids must be an array of group ids');
    caller.gids.forEach((g, i) => checkId(`gids[${i}]`, g));
    if (options.skipTrash === true && caller.uid !== 0) throw new RangeError('options.skipTrash is for administrators: the caller must be root (uid 0)');
    const umask = options.umask ?? currentUmask();
    if (!Number.isInteger(umask) || umask < 0 || umask > 0o777) throw new RangeError(`options.umask must be an integer in 0..0o777, got ${String(umask)}`);
    const cacheMs = options.attrCacheMs;
    if (cacheMs !== undefined && !(typeof cacheMs === 'number' && Number.isFinite(cacheMs) && cacheMs >= 0)) throw new RangeError(`options.attrCacheMs must be a number of milliseconds >= 0, got ${String(cacheMs)}`);
    const threshold = options.compactThreshold;
    if (threshold !== undefined && !(Number.isSafeInteger(threshold) && threshold >= 0)) throw new RangeError(`options.compactThreshold must be a whole number of slices >= 0, got ${String(threshold)}`);
    const backends = await openBackends(metaUrl, volumeOptionsToBackends(options));
    try {
      const vfs = await Vfs.start(backends.meta, backends.store, {
        heartbeatMs: options.heartbeatMs,
        reclaimMs: options.reclaimMs,
        commitAfterMs: options.commitAfterMs,
        compactThreshold: options.compactThreshold,
        staleSessionMs: options.staleSessionMs,
        housekeepingMs: options.housekeepingMs,
        attrCacheMs: options.attrCacheMs,
        sessionInfo: { client: options.client ?? 'sdk', host: hostname() },
        skipTrash: options.skipTrash === true,
        metrics: { volume: backends.volumeName, entrypoint: entrypointOf(options.client ?? 'sdk') },
      });
      return new Volume(vfs, backends, caller, umask, metaUrl);
    } catch (err) {
      await backends.close().catch(() => undefined);
      throw err;
    }
  }

  /** Create a new volume: its metadata (at `metaUrl`) and its data directory/bucket. */
  static async format(metaUrl: string, options: FormatOptions): Promise<FormatResult> {
    if (typeof metaUrl !== 'string') throw invalidArgType('metaUrl', 'of type string', metaUrl);
    return formatVolume(metaUrl, options);
  }

  /** Close every open handle (flushing its writes), end the session, and release the engines. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      let firstError: unknown = null;
      for (const h of this.openHandles()) await h.close().catch((err: unknown) => { firstError ??= err; });
      await this.vfs.close().catch((err: unknown) => { firstError ??= err; });
      await this.#backends.close().catch((err: unknown) => { firstError ??= err; });
      if (firstError) throw firstError;
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** The entrypoint a client's bytes are counted under (strata_read_bytes_total{entrypoint}). */
function entrypointOf(client: string): string {
  if (client === 'fuse') return 'fuse';
  if (client.startsWith('gateway')) return 'gateway';
  return 'sdk';
}
