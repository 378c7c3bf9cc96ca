// strata bench PATH: big-file sequential write/read and small-file write/read/stat on any
// directory (a Strata mount, local disk, or a peer file system for comparison), with progress
// and a summary table. N threads = N files worked on at once.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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

interface Row {
  item: string;
  value: string;
  cost: string;
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
  rows.push({ item: 'Write big file', value: `${(bytes / MiB / writeS).toFixed(1)} MiB/s`, cost: `${(writeS * 1000 / chunks).toFixed(2)} ms/MiB-block` });
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
  rows.push({ item: 'Read big file', value: `${(bytes / MiB / readS).toFixed(1)} MiB/s`, cost: `${(readS * 1000 / chunks).toFixed(2)} ms/MiB-block` });
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
    rows.push({ item: `${label} small file`, value: `${(total / s).toFixed(1)} ${unit}`, cost: `${(s * 1000 * f.threads / total).toFixed(3)} ms/file` });
  };
  await phase('Write', (p) => writeFile(p, data), 'files/s');
  await phase('Read', (p) => readFile(p), 'files/s');
  await phase('Stat', (p) => stat(p), 'files/s');
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('benchmark any directory: big-file write/read, small-file write/read/stat (run it on a peer file system too)')
    .argument('<path>', 'an existing directory (a Strata mount, local disk, ...); a temporary subdirectory is used and removed')
    .option('--threads <n>', 'files worked on at once', wholeNumber('--threads', 256), 1)
    .option('--big-file-size <size>', 'size of each big file (e.g. 1G, 512M)', size('--big-file-size'), 1024 * MiB)
    .option('--small-file-size <size>', 'size of each small file', size('--small-file-size'), 128 * 1024)
    .option('--small-file-count <n>', 'small files in all', wholeNumber('--small-file-count', 10_000_000), 100)
    .action(async (path: string, flags: BenchFlags) => {
      if (flags.threads < 1) throw Object.assign(new Error('--threads must be at least 1'), { exitCode: 2 });
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
      const w = [Math.max(4, ...rows.map((r) => r.item.length)), Math.max(5, ...rows.map((r) => r.value.length)), Math.max(4, ...rows.map((r) => r.cost.length))];
      const fmt = (a: string, b: string, c: string) => `| ${a.padEnd(w[0])} | ${b.padStart(w[1])} | ${c.padStart(w[2])} |`;
      const sep = `+${w.map((n) => '-'.repeat(n + 2)).join('+')}+`;
      process.stdout.write(`\nBenchmark of ${path}: ${flags.threads} thread(s), big file ${(flags.bigFileSize / MiB).toFixed(0)} MiB, ${flags.smallFileCount} small files of ${(flags.smallFileSize / 1024).toFixed(0)} KiB\n`);
      process.stdout.write(`${[sep, fmt('ITEM', 'VALUE', 'COST'), sep, ...rows.map((r) => fmt(r.item, r.value, r.cost)), sep].join('\n')}\n`);
    });
}
