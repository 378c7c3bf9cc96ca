// bench/mirror: mirror regions on this machine (bench/regions.ts: the primary on PostgreSQL and an
// s3rver process, the mirror on SQLite with its own s3rver process and its replicator process),
// with no added latency and with 30 ms round trips between the regions. Per setting:
//  - replication lag p50/p95/p99 while a client in the primary's region writes small files at a
//    steady rate (the time from a version's commit on the primary to the mirror applying it);
//  - write latency of a small file through a mirror client (mirror writes) against a client of
//    the primary;
//  - read throughput of a big file on the mirror against on the primary, each reading its own
//    region's store.
// Targets: lag p95 <= 1 s (JuiceFS: "usually about one second"); mirror read >= 0.9x primary.
// Run: npm run bench:mirror; writes bench/results/mirror.json. Env: BENCH_MIRROR_SECONDS (lag
// window, 20), BENCH_MIRROR_RATE (writes/s, 20), BENCH_MIRROR_MIB (read file, 512), BENCH_MIRROR_N (latency files, 100).
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseMetaUrl } from '../src/config/urls.js';
import { packageRoot } from '../src/hotpath/locate.js';
import { openDriver } from '../src/meta/sql/open.js';
import { mirrorStatus } from '../src/mirror/status.js';
import { startRegionClient, startRegions, type Regions } from './regions.js';
import { startPostgres } from './servers.js';
import { envInt, printTable, progressBar, writeJson, type Row } from './table.js';

const SECONDS = envInt('BENCH_MIRROR_SECONDS', 20);
const RATE = envInt('BENCH_MIRROR_RATE', 20);
const MIB = envInt('BENCH_MIRROR_MIB', 512);
const N = envInt('BENCH_MIRROR_N', 100);

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Lags (ms) of the versions committed while a primary client writes at RATE for SECONDS. */
async function lag(regions: Regions): Promise<number[]> {
  const m = regions.mirrors[0]!;
  const writer = startRegionClient(regions.primary, null, false);
  const { driver: mirror } = await openDriver(parseMetaUrl(m.meta));
  const seen = new Map<number, number>();
  let watching = true;
  // When each version showed on the mirror (polled every 2 ms: that much is added to each lag).
  const watcher = (async () => {
    let last = 0;
    while (watching) {
      const v = Number((await mirror.read((c) => c.get<{ version: unknown }>('SELECT version FROM vstate')))!.version);
      const now = Date.now();
      for (let k = last + 1; k <= v; k++) seen.set(k, now);
      last = Math.max(last, v);
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  const start = (await mirrorStatus(m.meta, { primary: m.primary })).applied;
  await writer.ask({ cmd: 'steady', seconds: SECONDS, rate: RATE, dir: '/lag' });
  // Let the last ones arrive.
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && (await mirrorStatus(m.meta, { primary: m.primary })).lagVersions !== 0) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 50));
  watching = false;
  await watcher;
  await mirror.close();
  await writer.close();
  // Commit times as the primary's log records them.
  const { driver: primary } = await openDriver(parseMetaUrl(regions.primary));
  const rows = await primary.read((c) => c.all('SELECT version, time_ms FROM changes WHERE version > ? ORDER BY version', [start]));
  await primary.close();
  return rows.filter((r) => seen.has(Number(r.version))).map((r) => seen.get(Number(r.version))! - Number(r.time_ms)).sort((a, b) => a - b);
}

async function writeLatency(regions: Regions): Promise<{ mirror: number[]; primary: number[] }> {
  const m = regions.mirrors[0]!;
  const viaMirror = startRegionClient(m.meta, m.primary, true);
  const onPrimary = startRegionClient(regions.primary, null, false);
  try {
    const a = await viaMirror.ask<{ ms: number[] }>({ cmd: 'latency', n: N, dir: '/lat-mirror' });
    const b = await onPrimary.ask<{ ms: number[] }>({ cmd: 'latency', n: N, dir: '/lat-primary' });
    return { mirror: a.ms.sort((x, y) => x - y), primary: b.ms.sort((x, y) => x - y) };
  } finally {
    await viaMirror.close();
    await onPrimary.close();
  }
}

async function readThroughput(regions: Regions): Promise<{ mirror: number; primary: number }> {
  const m = regions.mirrors[0]!;
  const onPrimary = startRegionClient(regions.primary, null, false);
  await onPrimary.ask({ cmd: 'write', path: '/big', mib: MIB, seed: 5 });
  // Copied into the mirror's store first: a mirror reads its own region's blocks.
  for (;;) {
    const s = await mirrorStatus(m.meta, { primary: m.primary });
    if (s.lagVersions === 0 && s.pendingBlocks === 0) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const onMirror = startRegionClient(m.meta, null, false);
  try {
    let best = { mirror: 0, primary: 0 };
    // Best of two, alternating: the first read of a run pays for the disk's state.
    for (let round = 0; round < 2; round++) {
      const p = await onPrimary.ask<{ ms: number }>({ cmd: 'hash', path: '/big' });
      const r = await onMirror.ask<{ ms: number }>({ cmd: 'hash', path: '/big' });
      best = { primary: Math.max(best.primary, MIB / (p.ms / 1000)), mirror: Math.max(best.mirror, MIB / (r.ms / 1000)) };
    }
    return best;
  } finally {
    await onMirror.close();
    await onPrimary.close();
  }
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'strata-bench-mirror-'));
  const pg = await startPostgres({ mode: 'bench' });
  const settings = [{ name: 'no added latency', delayMs: 0 }, { name: '30 ms round trip', delayMs: 15 }];
  const bar = progressBar('bench/mirror', settings.length * 3);
  const results: Record<string, { lag: number[]; latency: { mirror: number[]; primary: number[] }; read: { mirror: number; primary: number } }> = {};
  try {
    for (const [i, s] of settings.entries()) {
      await pg.createDatabase(`mirror_${i}`);
      const dir = join(work, `r${i}`);
      await mkdir(dir);
      const regions = await startRegions({ primaryMeta: pg.url(`mirror_${i}`), work: dir, mirrors: ['b'], delayMs: s.delayMs });
      try {
        const l = await lag(regions);
        bar.tick();
        const w = await writeLatency(regions);
        bar.tick();
        const r = await readThroughput(regions);
        bar.tick();
        results[s.name] = { lag: l, latency: w, read: r };
      } finally {
        await regions.stop();
      }
    }
  } finally {
    bar.stop();
    await pg.stop();
    await rm(work, { recursive: true, force: true });
  }

  const met: string[] = [];
  const missed: string[] = [];
  const lagRows: Row[] = [];
  const latRows: Row[] = [];
  const readRows: Row[] = [];
  for (const s of settings) {
    const r = results[s.name]!;
    const p95 = quantile(r.lag, 0.95);
    (p95 <= 1000 ? met : missed).push(`lag p95 <= 1 s (${s.name})`);
    lagRows.push({ setting: s.name, versions: r.lag.length, 'p50 ms': quantile(r.lag, 0.5), 'p95 ms': p95, 'p99 ms': quantile(r.lag, 0.99), target: 'p95 <= 1000 ms' });
    for (const q of [0.5, 0.95]) {
      const a = quantile(r.latency.mirror, q);
      const b = quantile(r.latency.primary, q);
      latRows.push({ setting: s.name, quantile: `p${q * 100}`, 'mirror client ms': a, 'primary client ms': b, 'mirror/primary': a / b });
    }
    const ratio = r.read.mirror / r.read.primary;
    (ratio >= 0.9 ? met : missed).push(`mirror read >= 0.9x primary (${s.name})`);
    readRows.push({ setting: s.name, 'mirror MiB/s': r.read.mirror, 'primary MiB/s': r.read.primary, 'mirror/primary': ratio, target: '>= 0.9x' });
  }
  printTable(`Replication lag: a primary client writing ${RATE} small files/s for ${SECONDS} s; commit on the primary to applied on the mirror`, lagRows);
  printTable(`Write latency of a small file (${N} files, one at a time): through a mirror client (returns once the mirror shows it) vs a client of the primary`, latRows);
  printTable(`Reading a ${MIB} MiB file (best of two), each region from its own store`, readRows);
  const file = await writeJson(packageRoot(), 'mirror', { seconds: SECONDS, rate: RATE, mib: MIB, n: N, results, lagRows, latRows, readRows, met, missed });
  console.log(`\nsummary: ${met.length}/${met.length + missed.length} targets met${missed.length ? `; missed: ${missed.join(', ')}` : ''}. JSON: ${file}`);
}

await main();
