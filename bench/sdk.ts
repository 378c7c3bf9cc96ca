// bench/sdk: the Strata SDK (Volume) against node:fs/promises on the same disk, measured in one run.
// Run: npm run bench:sdk   (after `npm run build`); writes bench/results/sdk.json.
// Env: BENCH_DIR (parent of the temp dirs, default os.tmpdir()), BENCH_BIG_MIB (1024),
//      BENCH_SMALL_COUNT (10000), BENCH_STREAM_MIB (10240).
import { execFile } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { promisify } from 'node:util';
import * as nodefs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Volume } from '../src/index.js';
import { DEFAULT_BUFFER_SIZE } from '../src/chunk/options.js';
import { closePool } from '../src/hotpath/pool.js';
import { packageRoot } from '../src/hotpath/locate.js';
import { printTable, writeJson, progressBar, type Row, envInt, type BenchFs } from './table.js';
import { timed, writeBig, readBig } from './big-files.js';

const MiB = 1024 * 1024;
const SMALL = 4096;


const BIG_MIB = envInt('BENCH_BIG_MIB', 1024);
const SMALL_COUNT = envInt('BENCH_SMALL_COUNT', 10000);
const STREAM_MIB_ASKED = envInt('BENCH_STREAM_MIB', 10240);
const CONCURRENT = 4;

type Fs = BenchFs;
interface Side { name: string; fs: Fs; base: string }

const mibps = (bytes: number, ms: number) => bytes / MiB / (ms / 1000);
const opsps = (n: number, ms: number) => n / (ms / 1000);
const met = (ok: boolean) => (ok ? 'met' : 'missed');




/** Samples process RSS every 50 ms while running. */
class RssSampler {
  peak = 0;
  #timer: NodeJS.Timeout | undefined;
  start(): void {
    this.sample();
    this.#timer = setInterval(() => this.sample(), 50);
  }
  sample(): void {
    this.peak = Math.max(this.peak, process.memoryUsage().rss);
  }
  stop(): number {
    this.sample();
    clearInterval(this.#timer);
    return this.peak;
  }
}

/** Write back every dirty page before a timed phase, so it does not pay for the previous one. */
async function settleDisk(): Promise<void> {
  await promisify(execFile)('sync');
}

async function freeBytes(dir: string): Promise<number> {
  const s = await nodefs.statfs(dir);
  return s.bavail * s.bsize;
}

async function main(): Promise<void> {
  const parent = process.env.BENCH_DIR || tmpdir();
  const root = await nodefs.mkdtemp(join(parent, 'strata-bench-'));
  const nodeDir = join(root, 'node');
  const volDir = join(root, 'vol');
  await nodefs.mkdir(nodeDir);
  await nodefs.mkdir(volDir);
  const metaUrl = `sqlite3://${join(volDir, 'meta.db')}`;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const bufferSize = DEFAULT_BUFFER_SIZE;
  let vol: Volume | undefined;

  try {
    await Volume.format(metaUrl, { name: 'bench', storage: `file://${join(volDir, 'data')}`, trashDays: 0 });
    vol = await Volume.open(metaUrl, { bufferSize, skipTrash: isRoot, reclaimMs: 500 });
    const strata: Side = { name: 'Strata', fs: vol as unknown as Fs, base: '/' };
    const node: Side = { name: 'node:fs', fs: nodefs as unknown as Fs, base: nodeDir };
    const sides = [strata, node];

    const steps = progressBar('bench/sdk', 4 * 2 + 5 * 2 + 2);
    console.log(`bench/sdk: ${root} (Strata volume: SQLite + file:// objects on the same disk as node:fs)`);
    console.log(`sizes: big ${BIG_MIB} MiB x1 and x${CONCURRENT}, ${SMALL_COUNT.toLocaleString('en-US')} small files of 4 KiB, stream ${STREAM_MIB_ASKED} MiB asked; ` +
      `Volume bufferSize ${bufferSize / MiB} MiB; skipTrash ${isRoot}`);

    // ---- 1. sequential big files ----
    const bigBytes = BIG_MIB * MiB;
    const seq: Record<string, Record<string, number>> = {};
    for (const s of sides) {
      await settleDisk();
      const p = join(s.base, 'big-0');
      const w = await timed(() => writeBig(s.fs, p, BIG_MIB, 1000)); steps.tick();
      const r = await timed(() => readBig(s.fs, p, BIG_MIB, 1000)); steps.tick();
      await s.fs.unlink(p);
      const paths = Array.from({ length: CONCURRENT }, (_, k) => join(s.base, `big-c${k}`));
      const wc = await timed(async () => { await Promise.all(paths.map((q, k) => writeBig(s.fs, q, BIG_MIB, k))); }); steps.tick();
      const rc = await timed(async () => { await Promise.all(paths.map((q, k) => readBig(s.fs, q, BIG_MIB, k))); }); steps.tick();
      for (const q of paths) await s.fs.unlink(q);
      seq[s.name] = { write1: mibps(bigBytes, w), read1: mibps(bigBytes, r), writeN: mibps(bigBytes * CONCURRENT, wc), readN: mibps(bigBytes * CONCURRENT, rc) };
    }
    const seqRow = (workload: string, key: string, target: number): Row => {
      const ratio = seq.Strata[key] / seq['node:fs'][key];
      return { workload, 'Strata MiB/s': seq.Strata[key], 'node:fs MiB/s': seq['node:fs'][key], 'Strata/node': ratio, target: `>= ${target}x`, status: met(ratio >= target) };
    };
    // Sequential write and concurrent read: the data-path issue's targets; the other two rows the
    // embedded core's.
    const seqRows: Row[] = [
      seqRow(`write 1 file x ${BIG_MIB} MiB`, 'write1', 0.8),
      seqRow(`read  1 file x ${BIG_MIB} MiB`, 'read1', 0.5),
      seqRow(`write ${CONCURRENT} files x ${BIG_MIB} MiB (concurrent)`, 'writeN', 0.4),
      seqRow(`read  ${CONCURRENT} files x ${BIG_MIB} MiB (concurrent)`, 'readN', 0.7),
    ];

    // ---- 2. small files ----
    // Dirty pages of the big files above would be flushed during this phase otherwise.
    await settleDisk();
    const data = Buffer.alloc(SMALL);
    randomFillSync(data);
    const small: Record<string, Record<string, number>> = {};
    for (const s of sides) {
      await settleDisk();
      const dir = join(s.base, 'small');
      await s.fs.mkdir(dir);
      const names = Array.from({ length: SMALL_COUNT }, (_, i) => join(dir, `f${i}`));
      const res: Record<string, number> = {};
      res.create = opsps(SMALL_COUNT, await timed(async () => { for (const p of names) await s.fs.writeFile(p, data); })); steps.tick();
      res.stat = opsps(SMALL_COUNT, await timed(async () => {
        for (const p of names) if ((await s.fs.stat(p)).size !== SMALL) throw new Error(`${s.name} stat ${p}: wrong size`);
      })); steps.tick();
      res.read = opsps(SMALL_COUNT, await timed(async () => {
        for (const p of names) if ((await s.fs.readFile(p)).length !== SMALL) throw new Error(`${s.name} readFile ${p}: wrong length`);
      })); steps.tick();
      res.unlink = opsps(SMALL_COUNT, await timed(async () => { for (const p of names) await s.fs.unlink(p); })); steps.tick();
      res.empty = opsps(SMALL_COUNT, await timed(async () => { for (const p of names) await (await s.fs.open(p, 'wx')).close(); })); steps.tick();
      for (const p of names) await s.fs.unlink(p);
      small[s.name] = res;
    }
    const smallRow = (op: string, key: string, target?: number): Row => {
      const v = small.Strata[key];
      return {
        operation: op, 'Strata ops/s': v, 'node:fs ops/s': small['node:fs'][key], 'Strata/node': v / small['node:fs'][key],
        target: target === undefined ? '' : `>= ${target.toLocaleString('en-US')}/s`, status: target === undefined ? '' : met(v >= target),
      };
    };
    const smallRows: Row[] = [
      smallRow('create+write 4 KiB (writeFile)', 'create', 3000),
      smallRow('stat', 'stat', 30000),
      smallRow('read 4 KiB (readFile)', 'read'),
      smallRow('delete (unlink)', 'unlink'),
      smallRow("create empty (open 'wx' + close)", 'empty', 3000),
    ];

    // ---- 3. peak RSS while streaming through Strata ----
    await settleDisk();
    await new Promise((r) => setTimeout(r, 1500)); // let freed blocks of the phases above be reclaimed
    const free = await freeBytes(volDir);
    let streamMib = STREAM_MIB_ASKED;
    let note = '';
    if (free < 2 * streamMib * MiB) {
      streamMib = Math.max(1, Math.floor(free / 2 / MiB / 1024) * 1024 || Math.floor(free / 2 / MiB));
      note = `free disk ${Math.floor(free / MiB).toLocaleString('en-US')} MiB < 2 x ${STREAM_MIB_ASKED} MiB asked: streaming ${streamMib} MiB instead`;
      console.log(`note: ${note}`);
    }
    const rssBase = process.memoryUsage().rss;
    const streamPath = '/stream';
    const target = bufferSize + 256 * MiB;
    const ws = new RssSampler();
    ws.start();
    const wms = await timed(() => writeBig(strata.fs, streamPath, streamMib, 7, () => { ws.sample(); }));
    const wPeak = ws.stop(); steps.tick();
    const rs = new RssSampler();
    rs.start();
    let checked = 0;
    const rms = await timed(() => readBig(strata.fs, streamPath, streamMib, 7, () => { rs.sample(); checked++; }));
    const rPeak = rs.stop(); steps.tick();
    if (checked !== streamMib) throw new Error(`stream: read ${checked} of ${streamMib} blocks`);
    await strata.fs.unlink(streamPath);
    steps.stop();
    const rssRow = (phase: string, ms: number, peak: number): Row => ({
      phase, MiB: streamMib, 'MiB/s': mibps(streamMib * MiB, ms), 'RSS before MiB': rssBase / MiB, 'peak RSS MiB': peak / MiB,
      'bufferSize MiB': bufferSize / MiB, 'target MiB': `<= ${target / MiB}`, status: met(peak <= target),
    });
    const rssRows: Row[] = [rssRow('Strata stream write (1 MiB I/O)', wms, wPeak), rssRow('Strata stream read (1 MiB I/O)', rms, rPeak)];

    printTable('Sequential I/O, MiB/s (1 MiB writes/reads at explicit positions; writes include sync + close)', seqRows);
    printTable(`Small files in one directory, ops/s (${SMALL_COUNT.toLocaleString('en-US')} files, one at a time)`, smallRows);
    printTable(`Peak RSS streaming through Strata (sampled every 50 ms${note ? '; ' + note : ''})`, rssRows);

    const file = await writeJson(packageRoot(), 'sdk', {
      when: new Date().toISOString(), dir: root, bigMib: BIG_MIB, concurrent: CONCURRENT, smallCount: SMALL_COUNT,
      streamMibAsked: STREAM_MIB_ASKED, streamMib, bufferSize, skipTrash: isRoot, note,
      sequential: seqRows, smallFiles: smallRows, rss: rssRows,
    });
    const all = [...seqRows, ...smallRows, ...rssRows].filter((r) => r.status !== '');
    const missed = all.filter((r) => r.status === 'missed').map((r) => String(r.workload ?? r.operation ?? r.phase));
    console.log(`\nsummary: ${all.length - missed.length}/${all.length} targets met` +
      (missed.length ? `; missed: ${missed.join(', ')}` : '') +
      `. Read ${(seq.Strata.read1 / seq['node:fs'].read1).toFixed(2)}x, write ${(seq.Strata.write1 / seq['node:fs'].write1).toFixed(2)}x node:fs; ` +
      `create ${Math.round(small.Strata.create).toLocaleString('en-US')}/s, stat ${Math.round(small.Strata.stat).toLocaleString('en-US')}/s; ` +
      `peak RSS ${Math.round(Math.max(wPeak, rPeak) / MiB)} MiB (target <= ${target / MiB}). JSON: ${file}`);
  } finally {
    await vol?.close().catch((e: unknown) => console.error('close:', e instanceof Error ? e.message : e));
    await closePool();
    await nodefs.rm(root, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exit(1);
});
