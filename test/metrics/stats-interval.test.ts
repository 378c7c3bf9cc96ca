// strata stats shows rates and percentiles of the interval between two samples of `.stats`; a
// mount restarted between them starts from zero, and the interval must not go negative.
import { describe, expect, it } from 'vitest';
import { interval } from '../../src/cli/commands/stats.js';
import type { StatsSnapshot } from '../../src/fuse/stats.js';
import { LATENCY_BUCKETS } from '../../src/metrics/registry.js';

function snapshot(time: number, uptimeS: number, lookups: number, seconds: number, bytes: number): StatsSnapshot {
  const buckets = LATENCY_BUCKETS.map((b) => (b >= seconds ? lookups : 0));
  return {
    time, uptimeS, ops: {}, readBytes: bytes, writeBytes: bytes, inFlight: 0, rssBytes: 0,
    store: { blocksWritten: 0, blocksRead: 0, bytesWritten: 0, bytesRead: 0, checksumErrors: 0, bufferedBytes: 0 },
    latency: { fuse: { lookup: { count: lookups, sum: lookups * seconds, buckets } } },
  };
}

describe('strata stats intervals', () => {
  it('are the difference of two samples', () => {
    const iv = interval(snapshot(0, 100, 1000, 0.0004, 0), snapshot(2000, 102, 3000, 0.0004, 4 * 1024 * 1024));
    expect(iv.layers.fuse.perS).toBe(1000);
    expect(iv.readMiBs).toBe(2);
    expect(iv.layers.fuse.p99).toBeGreaterThan(0.25);
    expect(iv.layers.fuse.p99).toBeLessThanOrEqual(0.5);
    expect(Number.isNaN(iv.layers.meta.p50)).toBe(true);
  });

  it('start from zero when the mount restarted in between, never negative', () => {
    const iv = interval(snapshot(0, 500, 90_000, 0.0004, 10 * 1024 * 1024), snapshot(1000, 1, 200, 0.0004, 1024 * 1024));
    expect(iv.layers.fuse.perS).toBeGreaterThan(0);
    expect(iv.readMiBs).toBeGreaterThan(0);
    expect(iv.layers.fuse.p50).toBeGreaterThan(0);
  });
});
