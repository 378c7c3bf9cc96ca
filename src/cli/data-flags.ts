// The flags every command that opens a volume's data shares (mount, warmup, ...): the disk cache,
// transfer concurrency, retries and the credentials key, turned into Volume options.
import { InvalidArgumentError, type Command } from 'commander';
import type { VolumeOptions } from '../sdk/volume.js';
import { wholeNumber } from './parse.js';

export interface DataFlags {
  cacheDir?: string;
  cacheSize?: number;
  freeSpaceRatio?: number;
  verifyCacheChecksum?: 'none' | 'full' | 'partial';
  cacheLargeWrite?: boolean;
  cachePartialOnly?: boolean;
  maxUploads?: number;
  maxDownloads?: number;
  ioRetries?: number;
  requestTimeout?: number;
  keyFile?: string;
  writeback?: boolean;
  heartbeat?: number;
  memoryCache?: number;
}

const MiB = 1024 * 1024;

function cacheSizeMiB(value: string): number {
  if (value.trim() === '-1') return -1;
  return wholeNumber('--cache-size')(value);
}

function ratio(value: string): number {
  const n = Number(value);
  if (!/^\d*\.?\d+$/.test(value.trim()) || !(n >= 0 && n <= 0.9)) throw new InvalidArgumentError(`--free-space-ratio takes a fraction from 0 to 0.9, got "${value}".`);
  return n;
}

function verifyLevel(value: string): 'none' | 'full' | 'partial' {
  const v = value === 'full-block' ? 'full' : value;
  if (v !== 'none' && v !== 'full' && v !== 'partial') throw new InvalidArgumentError(`--verify-cache-checksum takes none, full (full-block) or partial, got "${value}".`);
  return v;
}

function positive(flag: string, max: number) {
  const parse = wholeNumber(flag, max);
  return (value: string): number => {
    const n = parse(value);
    if (n === 0) throw new InvalidArgumentError(`${flag} takes a whole number from 1 to ${max}, got "${value}".`);
    return n;
  };
}

export function addDataFlags(cmd: Command): Command {
  return cmd
    .option('--cache-dir <dirs>', 'block cache directories, colon-separated, or "none" (default for remote storage: $STRATA_CACHE_DIR, else ~/.cache/strata, /var/cache/strata as root; file:// volumes cache nothing)')
    .option('--cache-size <MiB>', 'block cache size in MiB over all its directories; -1: no limit but --free-space-ratio (default 10240)', cacheSizeMiB)
    .option('--free-space-ratio <r>', 'keep this fraction of each cache file system free (default 0.1)', ratio)
    .option('--verify-cache-checksum <level>', 'check cached blocks: none, full (whole-block reads) or partial (the 32 KiB pieces each read touches) (default full)', verifyLevel)
    .option('--cache-large-write', 'also cache full blocks just written (by default only partial blocks are)')
    .option('--cache-partial-only', 'cache only partial blocks (small files, tails), never full blocks read from storage')
    .option('--max-uploads <n>', 'block uploads in flight at once (default 20)', positive('--max-uploads', 1024))
    .option('--max-downloads <n>', 'block downloads in flight at once (default 32)', positive('--max-downloads', 1024))
    .option('--io-retries <n>', 'retries of a failing storage request before EIO (default 10)', wholeNumber('--io-retries', 1000))
    .option('--request-timeout <s>', 'seconds before an unanswered storage request is retried (default 60)', positive('--request-timeout', 3600))
    .option('--writeback', 'stage written blocks in the cache directory and upload them in the background (metadata commits at once; only this host can read them until uploaded)')
    .option('--key-file <file>', 'key that unseals storage credentials stored with --encrypt-keys (default: $STRATA_KEY or $STRATA_KEY_FILE)')
    .option('--memory-cache <MiB>', 'verified blocks kept in memory, MiB (default 64): half for read-ahead, half for blocks read in parts (random reads of a file this holds need no block load)', wholeNumber('--memory-cache', 2048))
    .option('--heartbeat <s>', 'seconds between this client\'s heartbeats in the volume\'s metadata (default 10; other clients take one silent for 5 minutes for dead)', seconds('--heartbeat'));
}

function seconds(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d*\.?\d+$/.test(value.trim()) || !(n >= 0.1 && n <= 3600)) throw new InvalidArgumentError(`${flag} takes seconds from 0.1 to 3600, got "${value}".`);
    return n;
  };
}

/** The Volume options the data flags ask for (unset flags keep the defaults). */
export function dataOptions(f: DataFlags): VolumeOptions {
  const dirs = f.cacheDir?.split(':').filter(Boolean);
  return {
    cacheDir: f.cacheDir === undefined ? undefined : f.cacheDir === 'none' || dirs!.length === 0 ? null : dirs,
    cacheSize: f.cacheSize === undefined ? undefined : f.cacheSize < 0 ? -1 : f.cacheSize * MiB,
    freeSpaceRatio: f.freeSpaceRatio,
    verifyCacheChecksum: f.verifyCacheChecksum,
    cacheLargeWrite: f.cacheLargeWrite,
    cachePartialOnly: f.cachePartialOnly,
    maxUploads: f.maxUploads,
    maxDownloads: f.maxDownloads,
    ioRetries: f.ioRetries,
    requestTimeoutMs: f.requestTimeout === undefined ? undefined : f.requestTimeout * 1000,
    keyFile: f.keyFile,
    writeback: f.writeback,
    heartbeatMs: f.heartbeat === undefined ? undefined : f.heartbeat * 1000,
    memoryCacheSize: f.memoryCache === undefined ? undefined : f.memoryCache * MiB,
  };
}
