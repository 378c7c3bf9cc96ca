// Live counters of a mount, readable as the hidden file `.stats` at its root (JSON), which
// `strata stats` polls. They are the process's metrics registry (what /metrics serves) filtered
// to the mounted volume; recording a request costs a histogram observation.
import type { NativeState } from './native.js';
import type { Attr } from '../vfs/attr.js';
import type { ChunkStoreStats } from '../chunk/store.js';
import { blockCacheLatency } from '../chunk/metrics.js';
import { metaLatency } from '../meta/metrics.js';
import { objectLatency } from '../object/measured.js';
import { readBytes, writtenBytes } from '../vfs/metrics.js';
import { histogramsOf, type HistogramData, type HistogramSource } from '../metrics/histogram-data.js';
import { counter, incrementer, latencyHistogram, observer, Sampled, type Incrementer, type Observer } from '../metrics/registry.js';

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
  /** Latency histograms of this volume since the mount started, by layer (fuse, meta, object,
   * blockcache), then by op: `strata stats` shows their percentiles. */
  latency: Record<string, Record<string, HistogramData>>;
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

const opLatency = latencyHistogram('strata_fuse_op_seconds', 'FUSE requests that reached JS, from arrival to answer, by op', ['volume', 'op']);
const opErrors = counter('strata_fuse_op_errors_total', 'FUSE requests answered with an error, by op', ['volume', 'op']);
const inFlightGauge = new Sampled('gauge', 'strata_fuse_requests_in_flight', 'FUSE requests received and not yet answered', ['volume']);

/** The latency histograms `.stats` carries, by layer: metric, and the labels that key a series. */
const LAYERS: Record<string, { metric: HistogramSource; by: readonly string[] }> = {
  fuse: { metric: opLatency, by: ['op'] },
  meta: { metric: metaLatency, by: ['call'] },
  object: { metric: objectLatency, by: ['op'] },
  blockcache: { metric: blockCacheLatency, by: ['tier', 'op'] },
};

export class MountStats {
  inFlight = 0;
  volume: MountedVolumeInfo | undefined;
  native: (() => NativeState) | undefined;
  readonly #started = Date.now();
  readonly #born = BigInt(Date.now()) * 1_000_000n;
  readonly #ops = new Map<string, { time: Observer; errors: Incrementer }>();
  readonly #stopSampling: () => void;

  constructor(private readonly store: () => ChunkStoreStats, private readonly volumeName = 'default') {
    this.#stopSampling = inFlightGauge.add({ volume: volumeName }, () => this.inFlight);
  }

  /** A request arrived: the time to pass to end(). */
  begin(): number {
    this.inFlight++;
    return performance.now();
  }

  end(op: string, started: number, failed: boolean): void {
    this.inFlight--;
    let o = this.#ops.get(op);
    if (!o) this.#ops.set(op, (o = { time: observer(opLatency, { volume: this.volumeName, op }), errors: incrementer(opErrors, { volume: this.volumeName, op }) }));
    o.time.observe((performance.now() - started) / 1000);
    if (failed) o.errors.inc();
  }

  /** The mount is gone: its in-flight count leaves the registry. */
  close(): void {
    this.#stopSampling();
  }

  /** The counters, derived from the process's metrics registry (what /metrics serves). */
  async snapshot(): Promise<StatsSnapshot> {
    const volume = this.volumeName;
    const latency: StatsSnapshot['latency'] = {};
    for (const [layer, { metric, by }] of Object.entries(LAYERS)) latency[layer] = await histogramsOf(metric, { volume }, by);
    const errors = Object.fromEntries((await opErrors.get()).values.filter((v) => v.labels.volume === volume).map((v) => [String(v.labels.op), v.value]));
    const ops: Record<string, OpCounter> = {};
    for (const [op, h] of Object.entries(latency.fuse)) ops[op] = { count: h.count, errors: errors[op] ?? 0, micros: Math.round(h.sum * 1e6) };
    const bytes = async (c: typeof readBytes) => (await c.get()).values.find((v) => v.labels.volume === volume && v.labels.entrypoint === 'fuse')?.value ?? 0;
    return {
      time: Date.now(),
      uptimeS: (Date.now() - this.#started) / 1000,
      ops,
      readBytes: await bytes(readBytes),
      writeBytes: await bytes(writtenBytes),
      inFlight: this.inFlight,
      store: this.store() as ChunkStoreStats & Record<string, number>,
      rssBytes: process.memoryUsage.rss(),
      latency,
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
