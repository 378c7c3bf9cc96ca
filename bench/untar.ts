// bench/untar: unpacking a real source tree (this project's node_modules, packed with tar once)
// onto a Strata mount with default options vs onto the local disk, in the same run, as users do
// first on a new mount (issue: untar within 3x of local). Also what the mount's requests were:
// per op, how many reached JS, and the getxattr asks the native core answered itself.
// Run: npm run bench:untar; writes bench/results/untar.json. Env: BENCH_DIR (parent of temp dirs).
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../src/hotpath/locate.js';
import type { StatsSnapshot } from '../src/fuse/stats.js';
import { Volume } from '../src/index.js';
import { printTable, writeJson, type Row } from './table.js';

const run = promisify(execFile);
const CLI = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

async function main(): Promise<void> {
  const root = await fs.mkdtemp(join(process.env.BENCH_DIR || tmpdir(), 'strata-untar-'));
  const tarball = join(root, 'tree.tar');
  const mnt = join(root, 'mnt');
  const local = join(root, 'local');
  await Promise.all([fs.mkdir(mnt), fs.mkdir(local)]);
  let child: ReturnType<typeof spawn> | null = null;
  try {
    process.stderr.write('packing node_modules ...\n');
    await run('tar', ['cf', tarball, '-C', packageRoot(), 'node_modules'], { maxBuffer: 1 << 26 });
    const entries = (await run('tar', ['tf', tarball], { maxBuffer: 1 << 28 })).stdout.split('\n').filter(Boolean).length;
    const bytes = (await fs.stat(tarball)).size;
    const metaUrl = `sqlite3://${join(root, 'meta.db')}`;
    await Volume.format(metaUrl, { name: 'untar', storage: `file://${join(root, 'data')}` });
    child = spawn(process.execPath, [CLI, 'mount', metaUrl, mnt], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    await new Promise<void>((resolve, reject) => {
      child!.once('message', () => resolve());
      child!.once('exit', (code) => reject(new Error(`the mount exited (${code}) before mounting`)));
    });
    process.stderr.write(`untar of ${entries} entries (${(bytes / 2 ** 20).toFixed(0)} MiB): local disk ...\n`);
    await run('sync');
    const localS = await timed(() => run('tar', ['xf', tarball, '-C', local]));
    process.stderr.write('untar: Strata mount ...\n');
    const mountS = await timed(() => run('tar', ['xf', tarball, '-C', mnt]));
    const stats = JSON.parse(await fs.readFile(join(mnt, '.stats'), 'utf8')) as StatsSnapshot;
    const rows: Row[] = [
      { target: 'local disk', seconds: localS, 'entries/s': entries / localS, 'x local time': 1 },
      { target: 'Strata mount (defaults)', seconds: mountS, 'entries/s': entries / mountS, 'x local time': mountS / localS },
    ];
    printTable(`tar xf of this project's node_modules: ${entries} entries, ${(bytes / 2 ** 20).toFixed(0)} MiB (target: mount <= 3x local time)`, rows);
    const opRows: Row[] = Object.entries(stats.ops).sort((a, b) => b[1].micros - a[1].micros).slice(0, 10)
      .map(([op, c]) => ({ op, 'reached JS': c.count, 'JS s': c.micros / 1e6, 'avg us': c.micros / c.count }));
    opRows.push({ op: 'getxattr answered natively', 'reached JS': stats.native?.absentXattrHits ?? 0, 'JS s': 0, 'avg us': 0 });
    opRows.push({ op: 'lookup answered natively', 'reached JS': stats.native?.entryHits ?? 0, 'JS s': 0, 'avg us': 0 });
    opRows.push({ op: 'getattr answered natively', 'reached JS': stats.native?.attrHits ?? 0, 'JS s': 0, 'avg us': 0 });
    printTable('The mount\'s requests during the untar', opRows);
    console.log(`\nresults: ${writeJson(packageRoot(), 'untar', { entries, bytes, localS, mountS, ratio: mountS / localS, ops: stats.ops, native: stats.native })}`);
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await fs.rm(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
