// Live counters of a mount, readable as the hidden file `.stats` at its root (JSON), which
// `strata stats` polls. Counting must cost next to nothing on the request path: a few additions.
import type { NativeState } from './native.js';
import type { Attr } from '../vfs/attr.js';
import type { ChunkStoreStats } from '../chunk/store.js';

export const STATS_NAME = '.stats';
/** An inode number no volume hands out (ids count up from 1 and stay far below 2^53). */
export const STATS_INO = Number.MAX_SAFE_INTEGER - 16;
/** Reported size: big enough for any snapshot; reads are direct, so the real end is EOF. */
const STATS_SIZE = 1 << 20;

export interface OpCounter {
  count: number;
  errors: number;
  /** Total time from request to answer, µs. */
  micros: number;
}

export interface StatsSnapshot {
  /** ms since the epoch, when taken. */
  time: number;
  uptimeS: number;
  ops: Record<string, OpCounter>;
  readBytes: number;
  writeBytes: number;
  /** Requests received and not yet answered. */
  inFlight: number;
  store: ChunkStoreStats & Record<string, number>;
  rssBytes: number;
  /** What is mounted, for tools that act on the same volume (strata warmup). */
  volume?: MountedVolumeInfo;
  /** The native core's own counters (requests it answers without JS, state it keeps). */
  native?: NativeState;
}

export interface MountedVolumeInfo {
  name: string;
  /** The metadata URL, password masked. */
  meta: string;
  /** False when `meta` had a password masked, so it cannot be used to connect as it is. */
  metaUsable: boolean;
  /** The disk cache's settings, or null when there is none. */
  cache: { dirs: string[]; size: number; freeSpaceRatio: number; verify: string; cacheLargeWrite: boolean; cachePartialOnly: boolean } | null;
}

export class MountStats {
  readonly ops = new Map<string, OpCounter>();
  readBytes = 0;
  writeBytes = 0;
  inFlight = 0;
  volume: MountedVolumeInfo | undefined;
  native: (() => NativeState) | undefined;
  readonly #started = Date.now();
  readonly #born = BigInt(Date.now()) * 1_000_000n;

  constructor(private readonly store: () => ChunkStoreStats) {}

  begin(): bigint {
    this.inFlight++;
    return process.hrtime.bigint();
  }

  end(op: string, started: bigint, failed: boolean): void {
    this.inFlight--;
    let c = this.ops.get(op);
    if (!c) this.ops.set(op, (c = { count: 0, errors: 0, micros: 0 }));
    c.count++;
    if (failed) c.errors++;
    c.micros += Number(process.hrtime.bigint() - started) / 1000;
  }

  snapshot(): StatsSnapshot {
    return {
      time: Date.now(),
      uptimeS: (Date.now() - this.#started) / 1000,
      ops: Object.fromEntries([...this.ops].map(([k, v]) => [k, { ...v, micros: Math.round(v.micros) }])),
      readBytes: this.readBytes,
      writeBytes: this.writeBytes,
      inFlight: this.inFlight,
      store: this.store() as ChunkStoreStats & Record<string, number>,
      rssBytes: process.memoryUsage.rss(),
      volume: this.volume,
      native: this.native?.(),
    };
  }

  /** What `.stats` looks like to stat(2): read-only for everyone, owned by root. */
  attr(): Attr {
    return {
      ino: STATS_INO, mode: 0o100444, nlink: 1, uid: 0, gid: 0, rdev: 0, size: STATS_SIZE, blocks: 0,
      atimeNs: this.#born, mtimeNs: BigInt(Date.now()) * 1_000_000n, ctimeNs: this.#born, birthtimeNs: this.#born,
    };
  }
}
