// strata stats MOUNTPOINT: the mount's live metrics once a second, as rates and latency
// percentiles of the interval since the previous sample, columns grouped by layer (FUSE, metadata,
// object store, block cache). On a terminal: a table whose header repeats every screenful;
// otherwise one key=value line per sample. --verbose adds each op's own rate and percentiles.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { StatsSnapshot } from '../../fuse/stats.js';
import { merged, quantile, since, type HistogramData } from '../../metrics/histogram-data.js';
import { wholeNumber } from '../parse.js';

const MiB = 1024 * 1024;
const LAYERS = ['fuse', 'meta', 'object', 'blockcache'] as const;
const HEADER_EVERY = 20;

async function sample(mountpoint: string): Promise<StatsSnapshot> {
  let text: string;
  try {
    text = await readFile(join(mountpoint, '.stats'), 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new Error(`cannot read ${join(mountpoint, '.stats')} (${code ?? (err as Error).message}): is ${mountpoint} a Strata mount? (strata mount META_URL ${mountpoint})`);
  }
  try {
    return JSON.parse(text) as StatsSnapshot;
  } catch {
    throw new Error(`${join(mountpoint, '.stats')} is not a Strata stats file: is ${mountpoint} a Strata mount?`);
  }
}

/** Rate and percentiles (ms) of one series over an interval. */
interface Latency {
  perS: number;
  p50: number;
  p95: number;
  p99: number;
}

function latencyOf(h: HistogramData, seconds: number): Latency {
  return { perS: h.count / seconds, p50: quantile(h, 0.5) * 1000, p95: quantile(h, 0.95) * 1000, p99: quantile(h, 0.99) * 1000 };
}

interface Interval {
  seconds: number;
  readMiBs: number;
  writeMiBs: number;
  layers: Record<string, Latency>;
  /** Each layer's series (op, call, tier+op) that saw requests, busiest first. */
  series: Record<string, { name: string; latency: Latency }[]>;
}

/** An empty reading: what came before a restarted mount (its counters start again from zero). */
function restartOf(cur: StatsSnapshot): StatsSnapshot {
  return { ...cur, time: cur.time - cur.uptimeS * 1000, readBytes: 0, writeBytes: 0, latency: {} };
}

export function interval(last: StatsSnapshot, cur: StatsSnapshot): Interval {
  // A mount that restarted between two samples counts from zero: compare with nothing, as
  // Prometheus does when a counter resets.
  const prev = cur.uptimeS < last.uptimeS || cur.readBytes < last.readBytes || cur.writeBytes < last.writeBytes ? restartOf(cur) : last;
  const seconds = Math.max(0.001, (cur.time - prev.time) / 1000);
  const layers: Interval['layers'] = {};
  const series: Interval['series'] = {};
  for (const layer of LAYERS) {
    const now = cur.latency?.[layer] ?? {};
    const before = prev.latency?.[layer] ?? {};
    const deltas = Object.entries(now).map(([name, h]) => ({ name, h: since(h, before[name]) }));
    layers[layer] = latencyOf(merged(deltas.map((d) => d.h)), seconds);
    series[layer] = deltas.filter((d) => d.h.count > 0).map((d) => ({ name: d.name, latency: latencyOf(d.h, seconds) })).sort((a, b) => b.latency.perS - a.latency.perS);
  }
  return { seconds, readMiBs: (cur.readBytes - prev.readBytes) / MiB / seconds, writeMiBs: (cur.writeBytes - prev.writeBytes) / MiB / seconds, layers, series };
}

/** A latency in ms, in at most 6 characters ('-' when nothing was measured). */
function ms(v: number): string {
  if (!Number.isFinite(v)) return '-';
  if (v < 1) return v.toFixed(3);
  if (v < 10) return v.toFixed(2);
  if (v < 1000) return v.toFixed(1);
  return v.toFixed(0);
}

function rate(v: number): string {
  return v >= 10 ? v.toFixed(0) : v.toFixed(1);
}

const COL = 7;
const LAYER_COLS = ['ops/s', 'p50', 'p95', 'p99'];
const TAIL_COLS = ['read', 'write', 'buf', 'hits'];

/** The two header lines: layer names over their columns (latencies in ms), juicefs-stats style. */
function header(): string {
  const group = (name: string, cols: number) => {
    const width = cols * COL;
    const label = ` ${name} `;
    const left = Math.floor((width - label.length) / 2);
    return `${'-'.repeat(left)}${label}${'-'.repeat(width - left - label.length)}`;
  };
  const groups = [...LAYERS.map((l) => group(`${l} (ms)`, LAYER_COLS.length)), group('MiB/s, MiB, cache', TAIL_COLS.length)];
  const cols = [...LAYERS.flatMap(() => LAYER_COLS), ...TAIL_COLS].map((c) => c.padStart(COL)).join('');
  return `${'time'.padEnd(9)}${groups.join('')}\n${''.padEnd(9)}${cols}`;
}

function row(cur: StatsSnapshot, iv: Interval): string {
  const cells = LAYERS.flatMap((l) => {
    const x = iv.layers[l];
    return [rate(x.perS), ms(x.p50), ms(x.p95), ms(x.p99)];
  });
  cells.push(iv.readMiBs.toFixed(1), iv.writeMiBs.toFixed(1), ((cur.store.bufferedBytes ?? 0) / MiB).toFixed(0), String((cur.store.memoryCacheHits ?? 0) + (cur.store.cacheHits ?? 0)));
  return `${new Date(cur.time).toTimeString().slice(0, 8).padEnd(9)}${cells.map((c) => c.padStart(COL)).join('')}`;
}

/** The cache-group counters, when the mount is in a group (release name remotecache.peers). */
function remote(cur: StatsSnapshot): string | null {
  const s = cur.store;
  if (s.peers === undefined) return null;
  return [`remotecache.peers=${s.peers}`, `remote_hits=${s.remoteHits ?? 0}`, `remote_fills=${s.remoteFills ?? 0}`, `remote_misses=${s.remoteMisses ?? 0}`,
    `remote_corrupt=${s.remoteCorrupt ?? 0}`, `remote_errors=${s.remoteErrors ?? 0}`].join(' ');
}

function line(cur: StatsSnapshot, iv: Interval): string {
  const ops = iv.layers.fuse.perS;
  const layers = LAYERS.map((l) => {
    const x = iv.layers[l];
    return `${l}_ops/s=${rate(x.perS)} ${l}_p50_ms=${ms(x.p50)} ${l}_p95_ms=${ms(x.p95)} ${l}_p99_ms=${ms(x.p99)}`;
  }).join(' ');
  const group = remote(cur);
  return `${new Date(cur.time).toISOString()} ops/s=${ops.toFixed(0)} read_MiB/s=${iv.readMiBs.toFixed(1)} write_MiB/s=${iv.writeMiBs.toFixed(1)} ${layers} buffered_MiB=${((cur.store.bufferedBytes ?? 0) / MiB).toFixed(1)} cache_hits=${cur.store.memoryCacheHits ?? 0} checksum_errors=${cur.store.checksumErrors}${group ? ` ${group}` : ''}`;
}

/** --verbose: every series that saw requests in the interval, by layer. */
function perOp(iv: Interval): string[] {
  const out: string[] = [];
  for (const layer of LAYERS) {
    for (const { name, latency: x } of iv.series[layer]) {
      out.push(`  ${`${layer}.${name.replace(' ', '.')}`.padEnd(28)}${rate(x.perS).padStart(COL)}${ms(x.p50).padStart(COL)}${ms(x.p95).padStart(COL)}${ms(x.p99).padStart(COL)}`);
    }
  }
  return out;
}

export function registerStats(program: Command): void {
  program
    .command('stats')
    .description("show a mount's live metrics once a second: rate and P50/P95/P99 latency per layer (FUSE, metadata, object store, block cache), throughput, buffer, cache hits")
    .argument('<mountpoint>', 'where a volume is mounted with strata mount')
    .option('--interval <s>', 'seconds between samples', wholeNumber('--interval', 3600), 1)
    .option('--count <n>', 'stop after this many samples (default: until Ctrl-C)', wholeNumber('--count'))
    .option('--verbose', 'also show each op (FUSE op, metadata call, object request, cache tier) with its own rate and percentiles')
    .option('--json', 'print the raw counters once and exit')
    .action(async (mountpoint: string, flags: { interval: number; count?: number; json?: boolean; verbose?: boolean }) => {
      let prev = await sample(mountpoint);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(prev, null, 2)}\n`);
        return;
      }
      const tty = process.stdout.isTTY === true;
      const periodMs = Math.max(1, flags.interval) * 1000;
      let stop = false;
      process.once('SIGINT', () => { stop = true; });
      for (let n = 0; !stop && (flags.count === undefined || n < flags.count); n++) {
        await new Promise((r) => setTimeout(r, periodMs));
        const cur = await sample(mountpoint);
        const iv = interval(prev, cur);
        const lines: string[] = [];
        if (tty) {
          if (n % HEADER_EVERY === 0 || flags.verbose) lines.push(header());
          lines.push(row(cur, iv));
          const group = remote(cur);
          if (group && flags.verbose) lines.push(`  ${group}`);
        } else {
          lines.push(line(cur, iv));
        }
        if (flags.verbose) lines.push(...perOp(iv));
        process.stdout.write(`${lines.join('\n')}\n`);
        prev = cur;
      }
    });
}
