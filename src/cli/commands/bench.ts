// strata bench PATH...: big-file sequential write/read and small-file write/read/stat on any
// directory (a Strata mount, local disk, or a peer file system for comparison), with progress
// and a summary table per directory. Several directories are measured one after another and
// compared (each against the first); --chart draws the comparison as an SVG, --json keeps the
// numbers. N threads = N files worked on at once.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { renderTablesSvg, type ChartTable } from '../../charts/table-chart.js';
import type { Command } from 'commander';
import { newProgress } from '../progress.js';
import { size, wholeNumber } from '../parse.js';

const MiB = 1024 * 1024;
const IO = MiB;

interface BenchFlags {
  threads: number;
  bigFileSize: number;
  smallFileSize: number;
  smallFileCount: number;
}

interface BenchRunFlags extends BenchFlags {
  chart?: string;
  json?: string;
}

interface Row {
  item: string;
  /** The figure, in `unit`. */
  value: number;
  unit: string;
  /** ms per block or per file. */
  cost: number;
  costUnit: string;
}

/** Run `work(t)` for t in 0..threads-1 at once; returns seconds taken. */
async function timed(threads: number, work: (t: number) => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await Promise.all(Array.from({ length: threads }, (_, t) => work(t)));
  return (performance.now() - t0) / 1000;
}

async function bigFiles(dir: string, f: BenchFlags, rows: Row[]): Promise<void> {
  const chunks = Math.max(1, Math.ceil(f.bigFileSize / IO));
  const total = chunks * f.threads;
  const data = randomBytes(IO);
  let bar = newProgress('big files: write', total);
  let done = 0;
  const writeS = await timed(f.threads, async (t) => {
    const h = await open(join(dir, `big.${t}`), 'w');
    try {
      for (let i = 0; i < chunks; i++) {
        const n = Math.min(IO, f.bigFileSize - i * IO);
        await h.write(data, 0, n, i * IO);
        bar.update(++done);
      }
      await h.sync();
    } finally {
      await h.close();
    }
  });
  bar.stop();
  const bytes = f.bigFileSize * f.threads;
  rows.push({ item: 'Write big file', value: bytes / MiB / writeS, unit: 'MiB/s', cost: writeS * 1000 / chunks, costUnit: 'ms/MiB-block' });
  bar = newProgress('big files: read', total);
  done = 0;
  const readS = await timed(f.threads, async (t) => {
    const h = await open(join(dir, `big.${t}`), 'r');
    const buf = Buffer.allocUnsafe(IO);
    try {
      for (let i = 0; i < chunks; i++) {
        await h.read(buf, 0, IO, i * IO);
        bar.update(++done);
      }
    } finally {
      await h.close();
    }
  });
  bar.stop();
  rows.push({ item: 'Read big file', value: bytes / MiB / readS, unit: 'MiB/s', cost: readS * 1000 / chunks, costUnit: 'ms/MiB-block' });
}

async function smallFiles(dir: string, f: BenchFlags, rows: Row[]): Promise<void> {
  const per = Math.ceil(f.smallFileCount / f.threads);
  const data = randomBytes(f.smallFileSize);
  const total = per * f.threads;
  const name = (t: number, i: number) => join(dir, `small.${t}`, `f${i}`);
  await Promise.all(Array.from({ length: f.threads }, (_, t) => mkdir(join(dir, `small.${t}`), { recursive: true })));
  const phase = async (label: string, op: (path: string) => Promise<unknown>, unit: string) => {
    const bar = newProgress(`small files: ${label}`, total);
    let done = 0;
    const s = await timed(f.threads, async (t) => {
      for (let i = 0; i < per; i++) {
        await op(name(t, i));
        bar.update(++done);
      }
    });
    bar.stop();
    rows.push({ item: `${label} small file`, value: total / s, unit, cost: s * 1000 * f.threads / total, costUnit: 'ms/file' });
  };
  await phase('Write', (p) => writeFile(p, data), 'files/s');
  await phase('Read', (p) => readFile(p), 'files/s');
  await phase('Stat', (p) => stat(p), 'files/s');
}

/** Measure one directory in a temporary subdirectory of it (removed after). */
async function benchOne(path: string, flags: BenchFlags): Promise<Row[]> {
  const st = await stat(path).catch((err: { code?: string }) => {
    throw new Error(`cannot benchmark ${path}: ${err.code === 'ENOENT' ? 'no such directory' : err.code ?? String(err)}`);
  });
  if (!st.isDirectory()) throw new Error(`cannot benchmark ${path}: not a directory`);
  const dir = join(path, `__strata_bench_${process.pid}_${Date.now()}`);
  await mkdir(dir);
  const rows: Row[] = [];
  try {
    if (flags.bigFileSize > 0) await bigFiles(dir, flags, rows);
    if (flags.smallFileCount > 0) await smallFiles(dir, flags, rows);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}

function printRun(path: string, flags: BenchFlags, rows: Row[]): void {
  const cells = rows.map((r) => [r.item, `${r.value.toFixed(1)} ${r.unit}`, `${r.cost.toFixed(r.costUnit === 'ms/file' ? 3 : 2)} ${r.costUnit}`]);
  const w = [0, 1, 2].map((i) => Math.max(['ITEM', 'VALUE', 'COST'][i].length, ...cells.map((c) => c[i].length)));
  const fmt = (a: string, b: string, c: string) => `| ${a.padEnd(w[0])} | ${b.padStart(w[1])} | ${c.padStart(w[2])} |`;
  const sep = `+${w.map((n) => '-'.repeat(n + 2)).join('+')}+`;
  process.stdout.write(`\nBenchmark of ${path}: ${flags.threads} thread(s), big file ${(flags.bigFileSize / MiB).toFixed(0)} MiB, ${flags.smallFileCount} small files of ${(flags.smallFileSize / 1024).toFixed(0)} KiB\n`);
  process.stdout.write(`${[sep, fmt('ITEM', 'VALUE', 'COST'), sep, ...cells.map((c) => fmt(c[0], c[1], c[2])), sep].join('\n')}\n`);
}

/** The runs as one table: a row per item, a column per directory, and each directory's ratio to
 * the first (higher is better for every item). */
function comparison(paths: string[], runs: Row[][]): ChartTable {
  const ratioName = (p: string) => `${p} vs ${paths[0]}`;
  const rows = runs[0].map((r, i) => {
    const row: Record<string, string | number> = { item: r.item, unit: r.unit };
    paths.forEach((p, k) => { row[p] = runs[k][i]?.value ?? NaN; });
    paths.slice(1).forEach((p, k) => { row[ratioName(p)] = (runs[k + 1][i]?.value ?? NaN) / r.value; });
    return row;
  });
  return { title: `strata bench: ${paths.join(', ')} (higher is better)`, rows, columns: { label: ['item', 'unit'], measures: paths, ratios: paths.slice(1).map(ratioName) } };
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('benchmark directories: big-file write/read, small-file write/read/stat; give a Strata mount and another file system to compare them')
    .argument('<paths...>', 'existing directories (a Strata mount, local disk, another file system); each is measured in a temporary subdirectory that is removed')
    .option('--threads <n>', 'files worked on at once', wholeNumber('--threads', 256), 1)
    .option('--big-file-size <size>', 'size of each big file (e.g. 1G, 512M)', size('--big-file-size'), 1024 * MiB)
    .option('--small-file-size <size>', 'size of each small file', size('--small-file-size'), 128 * 1024)
    .option('--small-file-count <n>', 'small files in all', wholeNumber('--small-file-count', 10_000_000), 100)
    .option('--chart <file.svg>', 'draw the results (each directory against the first) as an SVG chart')
    .option('--json <file>', 'write the results as JSON')
    .action(async (paths: string[], flags: BenchRunFlags) => {
      if (flags.threads < 1) throw Object.assign(new Error('--threads must be at least 1'), { exitCode: 2 });
      for (const f of [flags.chart, flags.json]) {
        if (f !== undefined) await stat(dirname(resolve(f))).catch(() => { throw Object.assign(new Error(`cannot write ${f}: its directory does not exist`), { exitCode: 2 }); });
      }
      const runs: Row[][] = [];
      for (const path of paths) {
        const rows = await benchOne(path, flags);
        printRun(path, flags, rows);
        runs.push(rows);
      }
      const table = comparison(paths, runs);
      if (paths.length > 1) {
        process.stdout.write(`\nEach against ${paths[0]} (higher is better):\n`);
        for (const r of table.rows) process.stdout.write(`  ${String(r.item).padEnd(20)} ${paths.slice(1).map((p) => `${p}: ${(r[`${p} vs ${paths[0]}`] as number).toFixed(2)}x`).join('   ')}\n`);
      }
      if (flags.json) {
        await writeFile(flags.json, `${JSON.stringify({ when: new Date().toISOString(), flags: { threads: flags.threads, bigFileSize: flags.bigFileSize, smallFileSize: flags.smallFileSize, smallFileCount: flags.smallFileCount }, runs: paths.map((p, k) => ({ path: p, rows: runs[k] })) }, null, 2)}\n`);
        process.stdout.write(`results: ${flags.json}\n`);
      }
      if (flags.chart) {
        const svg = await renderTablesSvg([table], `strata bench, ${new Date().toISOString().slice(0, 16).replace('T', ' ')}`);
        if (svg) await writeFile(flags.chart, svg);
        process.stdout.write(`chart: ${flags.chart}\n`);
      }
    });
}
