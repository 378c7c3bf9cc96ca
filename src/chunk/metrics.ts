// The data path's metrics. Latencies of the block caches are observed where they happen; every
// level and total the chunk store already keeps (buffer use, cache sizes, hits, read-ahead,
// checksum failures) is read when scraped, so the request path gains nothing.
import { latencyHistogram, Sampled } from '../metrics/registry.js';
import type { ObjectChunkStore } from './chunk-store.js';

export const blockCacheLatency = latencyHistogram('strata_blockcache_seconds',
  'Block-cache reads (hits) and writes, by tier: local (a cache disk) or remote (a cache-group member)', ['volume', 'tier', 'op']);

const vol = ['volume'] as const;
const perDir = ['volume', 'dir'] as const;
const levels = {
  bufferUsed: new Sampled('gauge', 'strata_buffer_used_bytes', 'Write-buffer memory in use', vol),
  bufferSize: new Sampled('gauge', 'strata_buffer_size_bytes', 'Write-buffer memory available in all', vol),
  uploadsPending: new Sampled('gauge', 'strata_uploads_pending', 'Block uploads running or waiting for a slot', vol),
  memBytes: new Sampled('gauge', 'strata_memcache_bytes', 'Verified blocks kept in memory (read cache and read-ahead)', vol),
  // Two clients of one volume in a process (a gateway's) see the same directories and members.
  cacheBytes: new Sampled('gauge', 'strata_blockcache_bytes', 'Bytes of blocks on a cache disk, per cache directory', perDir, 'max'),
  cacheEntries: new Sampled('gauge', 'strata_blockcache_entries', 'Blocks on a cache disk, per cache directory', perDir, 'max'),
  peers: new Sampled('gauge', 'strata_remotecache_peers', 'Cache-group members this process reaches now', vol, 'max'),
};
const totals = {
  memHits: new Sampled('counter', 'strata_memcache_hits_total', 'Block reads served from verified memory', vol),
  memMisses: new Sampled('counter', 'strata_memcache_misses_total', 'Block reads that had to load the block', vol),
  cacheHits: new Sampled('counter', 'strata_blockcache_hits_total', 'Block reads served from a cache disk', vol),
  cacheMisses: new Sampled('counter', 'strata_blockcache_misses_total', 'Block reads a cache disk did not serve', vol),
  cacheErrors: new Sampled('counter', 'strata_blockcache_errors_total', 'Cache-disk errors (each dropped to the object store), per cache directory', perDir),
  aheadHits: new Sampled('counter', 'strata_readahead_hits_total', 'Prefetched blocks a read then used', vol),
  aheadWaste: new Sampled('counter', 'strata_readahead_wasted_bytes_total', 'Bytes prefetched and dropped unused', vol),
  checksum: new Sampled('counter', 'strata_checksum_failures_total', 'Blocks whose bytes failed verification', vol),
  remoteHits: new Sampled('counter', 'strata_remotecache_hits_total', 'Blocks a cache-group member served (from its cache or one it filled)', vol),
  remoteMisses: new Sampled('counter', 'strata_remotecache_misses_total', 'Blocks no cache-group member served', vol),
  remoteErrors: new Sampled('counter', 'strata_remotecache_errors_total', 'Cache-group member requests that failed or timed out', vol),
};

/** Report `store`'s levels and totals under `volume`; the returned function stops it. */
export function sampleChunkStore(store: ObjectChunkStore, volume: string, bufferSize: number): () => void {
  const v = { volume };
  const stops = [
    levels.bufferUsed.add(v, () => store.budget.inUse),
    levels.bufferSize.add(v, () => bufferSize),
    levels.uploadsPending.add(v, () => store.stats().pendingUploads),
    levels.memBytes.add(v, () => store.memoryStats().bytes),
    totals.memHits.add(v, () => store.memoryStats().hits),
    totals.memMisses.add(v, () => store.memoryStats().misses),
    totals.aheadHits.add(v, () => store.memoryStats().aheadHits),
    totals.aheadWaste.add(v, () => store.memoryStats().aheadWastedBytes),
    totals.checksum.add(v, () => store.stats().checksumErrors),
  ];
  const cache = store.cache;
  if (cache) {
    stops.push(totals.cacheHits.add(v, () => cache.stats().cacheHits), totals.cacheMisses.add(v, () => cache.stats().cacheMisses));
    for (const d of cache.dirs) {
      const labels = { volume, dir: d.dir };
      stops.push(levels.cacheBytes.add(labels, () => d.bytes), levels.cacheEntries.add(labels, () => d.files), totals.cacheErrors.add(labels, () => d.errors));
    }
  }
  const peers = store.peers;
  if (peers) {
    stops.push(levels.peers.add(v, () => peers.stats().peers), totals.remoteHits.add(v, () => { const s = peers.stats(); return s.remoteHits + s.remoteFills; }),
      totals.remoteMisses.add(v, () => peers.stats().remoteMisses), totals.remoteErrors.add(v, () => peers.stats().remoteErrors));
  }
  return () => { for (const stop of stops) stop(); };
}
