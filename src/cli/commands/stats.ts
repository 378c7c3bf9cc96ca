// strata stats MOUNTPOINT: the mount's live counters once a second, as rates since the previous
// sample (top-style on a terminal: the screen is redrawn; otherwise one line per sample).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { StatsSnapshot } from '../../fuse/stats.js';
import { wholeNumber } from '../parse.js';

const MiB = 1024 * 1024;

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

interface Rates {
  ops: number;
  readMiBs: number;
  writeMiBs: number;
  avgLatencyMs: number;
  busiest: { op: string; perS: number; avgMs: number }[];
}

function rates(prev: StatsSnapshot, cur: StatsSnapshot): Rates {
  const dt = Math.max(0.001, (cur.time - prev.time) / 1000);
  let ops = 0;
  let micros = 0;
  const busiest: Rates['busiest'] = [];
  for (const [op, c] of Object.entries(cur.ops)) {
    const p = prev.ops[op] ?? { count: 0, micros: 0, errors: 0 };
    const n = c.count - p.count;
    if (n <= 0) continue;
    ops += n;
    micros += c.micros - p.micros;
    busiest.push({ op, perS: n / dt, avgMs: (c.micros - p.micros) / n / 1000 });
  }
  busiest.sort((a, b) => b.perS - a.perS);
  return {
    ops: ops / dt,
    readMiBs: (cur.readBytes - prev.readBytes) / MiB / dt,
    writeMiBs: (cur.writeBytes - prev.writeBytes) / MiB / dt,
    avgLatencyMs: ops > 0 ? micros / ops / 1000 : 0,
    busiest: busiest.slice(0, 8),
  };
}

/** The cache-group counters, when the mount is in a group (release name remotecache.peers). */
function remote(cur: StatsSnapshot, sep: string): string | null {
  const s = cur.store;
  if (s.peers === undefined) return null;
  return [`remotecache.peers${sep}${s.peers}`, `remote_hits${sep}${s.remoteHits ?? 0}`, `remote_fills${sep}${s.remoteFills ?? 0}`, `remote_misses${sep}${s.remoteMisses ?? 0}`,
    `remote_corrupt${sep}${s.remoteCorrupt ?? 0}`, `remote_errors${sep}${s.remoteErrors ?? 0}`, `remote_read_avg_ms${sep}${(s.remoteReadMsAvg ?? 0).toFixed(2)}`,
    `remote_read_max_ms${sep}${(s.remoteReadMsMax ?? 0).toFixed(2)}`].join(sep === '=' ? ' ' : '   ');
}

function screen(mountpoint: string, cur: StatsSnapshot, r: Rates): string {
  const s = cur.store;
  const group = remote(cur, ' ');
  const lines = [
    `strata stats ${mountpoint}   up ${Math.round(cur.uptimeS)} s   RSS ${(cur.rssBytes / MiB).toFixed(0)} MiB   in flight ${cur.inFlight}`,
    '',
    `ops/s ${r.ops.toFixed(0).padStart(8)}   read ${r.readMiBs.toFixed(1).padStart(8)} MiB/s   write ${r.writeMiBs.toFixed(1).padStart(8)} MiB/s   avg latency ${r.avgLatencyMs.toFixed(3)} ms`,
    `buffer ${((s.bufferedBytes ?? 0) / MiB).toFixed(1)} MiB in use   uploads pending ${s.pendingUploads ?? 0}   memory cache ${((s.memoryCacheBytes ?? 0) / MiB).toFixed(0)} MiB, hits ${s.memoryCacheHits ?? 0}   checksum errors ${s.checksumErrors}`,
    ...(group ? [group] : []),
    '',
    `${'op'.padEnd(12)}${'per s'.padStart(10)}${'avg ms'.padStart(10)}`,
    ...r.busiest.map((b) => `${b.op.padEnd(12)}${b.perS.toFixed(0).padStart(10)}${b.avgMs.toFixed(3).padStart(10)}`),
  ];
  return lines.join('\n');
}

function line(cur: StatsSnapshot, r: Rates): string {
  return `${new Date(cur.time).toISOString()} ops/s=${r.ops.toFixed(0)} read_MiB/s=${r.readMiBs.toFixed(1)} write_MiB/s=${r.writeMiBs.toFixed(1)} avg_ms=${r.avgLatencyMs.toFixed(3)} buffered_MiB=${((cur.store.bufferedBytes ?? 0) / MiB).toFixed(1)} cache_hits=${cur.store.memoryCacheHits ?? 0} checksum_errors=${cur.store.checksumErrors}${remote(cur, '=') ? ` ${remote(cur, '=')}` : ''}`;
}

export function registerStats(program: Command): void {
  program
    .command('stats')
    .description("show a mount's live counters once a second: ops, throughput, latency, buffer use, cache hits")
    .argument('<mountpoint>', 'where a volume is mounted with strata mount')
    .option('--interval <s>', 'seconds between samples', wholeNumber('--interval', 3600), 1)
    .option('--count <n>', 'stop after this many samples (default: until Ctrl-C)', wholeNumber('--count'))
    .option('--json', 'print the raw counters once and exit')
    .action(async (mountpoint: string, flags: { interval: number; count?: number; json?: boolean }) => {
      let prev = await sample(mountpoint);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(prev, null, 2)}\n`);
        return;
      }
      const tty = process.stdout.isTTY === true;
      const interval = Math.max(1, flags.interval) * 1000;
      let stop = false;
      process.once('SIGINT', () => { stop = true; });
      for (let n = 0; !stop && (flags.count === undefined || n < flags.count); n++) {
        await new Promise((r) => setTimeout(r, interval));
        const cur = await sample(mountpoint);
        const r = rates(prev, cur);
        if (tty) process.stdout.write(`\x1b[H\x1b[2J${screen(mountpoint, cur, r)}\n`);
        else process.stdout.write(`${line(cur, r)}\n`);
        prev = cur;
      }
    });
}
