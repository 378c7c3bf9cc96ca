// Mounting a volume: checks the mountpoint (a stale mount left by a killed process is detached
// first), opens the volume, starts the native session with the bridge, raises the kernel's
// read-ahead for the mount, and hands back a handle that unmounts and closes everything.
import { execFile } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { errnoError } from '../errors/errno.js';
import { parseMetaUrl, redactUrl } from '../config/urls.js';
import { Volume, type VolumeOptions } from '../sdk/volume.js';
import { BusyPoll, DEFAULT_BUSY_POLL_US } from './busy-poll.js';
import { FuseBridge, type CacheTimeouts } from './bridge.js';
import { fuseUnavailable, loadFuse } from './native.js';
import { watchVolumeChanges } from './volume-changes.js';
import { OwnCommits } from './own-commits.js';

const run = promisify(execFile);

export interface MountOptions {
  readOnly?: boolean;
  allowOther?: boolean;
  timeouts?: Partial<CacheTimeouts>;
  writebackCache?: boolean;
  /** Write-buffer memory (bytes). */
  bufferSize?: number;
  /** Extra -o options passed to libfuse as given. */
  options?: string[];
  /** Kernel read-ahead for the mount, KiB (0 leaves the kernel's default). */
  readAheadKb?: number;
  /** Microseconds the event loop stays awake after a request for the next one (0: sleep at once;
   * default 100, at most 10,000; see busy-poll.ts). */
  busyPollUs?: number;
  log?: (message: string) => void;
  /** Data-path options of the volume (disk cache, concurrency, retries, ...). */
  volume?: Pick<VolumeOptions, 'cacheDir' | 'cacheSize' | 'freeSpaceRatio' | 'verifyCacheChecksum' | 'cacheLargeWrite' | 'cachePartialOnly' | 'maxUploads' | 'maxDownloads' | 'ioRetries' | 'requestTimeoutMs' | 'keyFile' | 'writeback' | 'heartbeatMs' | 'cacheGroup' | 'memoryCacheSize'>;
}

export interface Mounted {
  readonly mountpoint: string;
  readonly volume: Volume;
  readonly bridge: FuseBridge;
  /** Resolves when the kernel side has gone (unmounted here or by someone else): the code is 0
   * or -errno. */
  readonly ended: Promise<number>;
  /** Unmount (lazily if busy) and close the volume, flushing everything. */
  unmount(): Promise<void>;
}

export const DEFAULT_TIMEOUTS: CacheTimeouts = { attr: 1, entry: 1, dirEntry: 1 };
/** 512 KiB READs: the most that works with splice here (see the FUSE notes). */
const MAX_READ = 512 * 1024;
const DEFAULT_READ_AHEAD_KB = 4096;
/** How often the mount looks for other clients' changes (the volume's version), and how late
 * beyond that it may learn of one (the query's own time). */
const VOLUME_POLL_MS = 100;
const VOLUME_POLL_SLACK_MS = 50;

/** A mountpoint left by a process that died without unmounting answers ENOTCONN: detach it. */
async function clearStaleMount(mountpoint: string, log: (m: string) => void): Promise<void> {
  try {
    await stat(mountpoint);
    return;
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOTCONN') return;
  }
  log(`${mountpoint}: stale mount left by a process that died; detaching it`);
  await run('fusermount3', ['-u', '-z', mountpoint]).catch(async () => run('umount', ['-l', mountpoint]));
}

async function checkMountpoint(mountpoint: string): Promise<void> {
  let st;
  try {
    st = await stat(mountpoint);
  } catch (err) {
    throw errnoError((err as { code?: string }).code ?? 'ENOENT', 'mount', mountpoint, `mountpoint ${mountpoint} does not exist: create the directory first`, err);
  }
  if (!st.isDirectory()) throw errnoError('ENOTDIR', 'mount', mountpoint, `mountpoint ${mountpoint} is not a directory`);
  const mounts = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  if (mounts.split('\n').some((line) => line.split(' ')[4] === mountpoint)) {
    throw errnoError('EBUSY', 'mount', mountpoint, `something is already mounted at ${mountpoint}: unmount it first (strata umount ${mountpoint})`);
  }
}

/** The mount's backing device info lives at /sys/class/bdi/MAJOR:MINOR; a larger read_ahead_kb
 * makes the kernel send 512 KiB READs instead of 128 KiB ones. */
async function raiseReadAhead(mountpoint: string, kb: number, log: (m: string) => void): Promise<void> {
  if (kb <= 0) return;
  try {
    const { dev } = await stat(mountpoint);
    const major = Math.floor(dev / 256) & 0xfff;
    const minor = (dev & 0xff) | (Math.floor(dev / 0x100000) & 0xfff00);
    await writeFile(`/sys/class/bdi/${major}:${minor}/read_ahead_kb`, String(kb));
  } catch (err) {
    log(`could not raise the kernel read-ahead of ${mountpoint} (${(err as Error).message}); reads stay at 128 KiB`);
  }
}

export async function mountVolume(metaUrl: string, mountpoint: string, options: MountOptions = {}): Promise<Mounted> {
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const why = fuseUnavailable();
  if (why) throw errnoError('ENODEV', 'mount', mountpoint, why);
  await clearStaleMount(mountpoint, log);
  await checkMountpoint(mountpoint);
  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  // Reads reuse a file's attributes as long as the kernel does (--attr-cache).
  const volume = await Volume.open(metaUrl, { attrCacheMs: timeouts.attr * 1000, ...options.volume, client: 'fuse', uid: 0, gid: 0, gids: [], umask: 0, bufferSize: options.bufferSize });
  const { name } = await volume.vfs.meta.settings();
  const fsOptions = [`fsname=strata:${name}`, 'subtype=strata', `max_read=${MAX_READ}`];
  if (options.allowOther) fsOptions.push('allow_other');
  if (options.readOnly) fsOptions.push('ro');
  // The kernel checks mode bits itself unless told otherwise; Strata checks them too (for SDK
  // callers), so the kernel's check only saves round trips.
  fsOptions.push('default_permissions');
  fsOptions.push(...(options.options ?? []));
  let bridge: FuseBridge | null = null;
  let session;
  const busy = new BusyPoll(options.busyPollUs ?? DEFAULT_BUSY_POLL_US);
  let stopWatching = (): void => undefined;
  let announceEnd: (code: number) => void = () => undefined;
  const ended = new Promise<number>((resolve) => { announceEnd = resolve; });
  try {
    const { FuseSession } = loadFuse();
    session = new FuseSession(mountpoint, ['-o', fsOptions.join(',')], (op, req, ctx, ...args) => {
      if (bridge) bridge.handle(op, req, ctx, ...args);
    }, {
      writebackCache: options.writebackCache === true,
      maxRead: MAX_READ,
      onExit: (code) => announceEnd(code),
      onError: (err, op) => log(`fuse ${op}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`),
    });
    // Attributes and names answered natively until anything may have changed them: this
    // mount's own requests mark what they change (with the inodes their commits name); the
    // change log names the rest.
    const nativeCache = timeouts.attr > 0 && timeouts.entry > 0;
    const live = session;
    const own = nativeCache ? new OwnCommits(volume.vfs.meta, () => live.attrCacheSeq()) : undefined;
    const changes = {
      mark: (inos: number[], parents: number[], names: string[]) => live.attrCacheMark(0, inos, parents, names),
      markAll: () => live.attrCacheChanged(),
    };
    bridge = new FuseBridge(volume.vfs, session, { timeouts, readOnly: options.readOnly === true, keepCache: true, writebackCache: options.writebackCache === true, log, volume: name, activity: () => busy.touch(), commits: own && { own, ...changes } });
    // Absent security.* xattrs are answered natively for as long as the kernel trusts attributes:
    // another client's setxattr shows within the same time as its other changes.
    session.setAbsentXattrTtl(timeouts.attr * 1000);
    if (own) {
      live.setAttrCache(VOLUME_POLL_MS + VOLUME_POLL_SLACK_MS);
      const stopPolling = watchVolumeChanges(volume.vfs.meta, VOLUME_POLL_MS, {
        changed: () => live.attrCacheChanged(),
        marked: (at, inos, parents, names) => live.attrCacheMark(at, inos, parents, names),
        checking: () => live.attrCacheChecking(),
        current: () => live.attrCacheCurrent(),
      }, own);
      stopWatching = () => {
        stopPolling();
        own.close();
      };
    }
  } catch (err) {
    stopWatching();
    bridge?.stats.close();
    await volume.close().catch(() => undefined);
    throw err;
  }
  // Absolute, so that tools run from another directory reach the same database.
  const parsed = parseMetaUrl(metaUrl);
  const shownMeta = redactUrl(parsed.kind === 'sqlite' && parsed.path !== ':memory:' ? `sqlite3://${parsed.path}` : metaUrl);
  const native = session;
  bridge.stats.native = () => native.nativeState();
  bridge.stats.volume = { name, meta: shownMeta, metaUsable: !shownMeta.includes(':****@'), cache: volume.vfs.store.blockCache?.describe() ?? null };
  await raiseReadAhead(mountpoint, options.readAheadKb ?? DEFAULT_READ_AHEAD_KB, log);
  const live = session;
  const liveBridge = bridge;
  let closing: Promise<void> | null = null;
  return {
    mountpoint,
    volume,
    bridge: liveBridge,
    ended,
    unmount(): Promise<void> {
      closing ??= (async () => {
        stopWatching();
        try {
          await live.unmount();
        } catch (err) {
          // Still mounted (busy): a later unmount may try again.
          closing = null;
          throw err;
        }
        busy.stop();
        liveBridge.stats.close();
        await volume.close();
      })();
      return closing;
    },
  };
}
