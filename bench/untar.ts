// bench/untar: unpacking a real source tree (this project's node_modules, packed with tar once)
// onto a Strata mount with default options vs onto the local disk, in the same run, as users do
// first on a new mount (issue: untar within 3x of local); then a git clone of a local repository
// of over 1,000 files (node_modules/@smithy committed once) onto each. Also what the mount's
// requests were during the untar: per op, how many reached JS, and what the native core answered.
// Run: npm run bench:untar; writes bench/results/untar.json. Env: BENCH_DIR (parent of temp dirs),
// BENCH_MOUNT_ARGS (extra flags for the Strata mount).
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../src/hotpath/locate.js';
import type { StatsSnapshot } from '../src/fuse/stats.js';
import { Volume } from '../src/index.js';
import { printTable, writeJson, type Row } from './table.js';
import { mountArgs } from './mount-args.js';

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
    child = spawn(process.execPath, [CLI, 'mount', metaUrl, mnt, ...mountArgs()], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    await new Promise<void>((resolve, reject) => {
      child!.once('message', () => resolve());
      child!.once('exit', (code) => reject(new Error(`the mount exited (${code}) before mounting`)));
    });
    process.stderr.write(`untar of ${entries} entries (${(bytes / 2 ** 20).toFixed(0)} MiB): local disk ...\n`);
    await run('sync');
    const localS = await timed(() => run('tar', ['xf', tarball, '-C', local]));
    process.stderr.write('untar: Strata mount ...\n');
    // Each run starts with nothing dirty: the mount must not pay for the local run's writeback.
    await run('sync');
    const mountS = await timed(() => run('tar', ['xf', tarball, '-C', mnt]));
    const stats = JSON.parse(await fs.readFile(join(mnt, '.stats'), 'utf8')) as StatsSnapshot;
    // A repository from a part of the tree just unpacked, cloned through git's own transport
    // (--no-local: no hard links to the local disk), as a user clones a project.
    const repo = join(root, 'repo');
    await fs.cp(join(local, 'node_modules', '@smithy'), repo, { recursive: true });
    const git = (args: string[], cwd?: string) => run('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@localhost', ...args], { cwd, maxBuffer: 1 << 26 });
    await git(['init', '-q'], repo);
    await git(['add', '-A'], repo);
    await git(['commit', '-q', '-m', 'tree'], repo);
    const files = (await git(['ls-files'], repo)).stdout.split('\n').filter(Boolean).length;
    process.stderr.write(`git clone of ${files} files: local disk ...\n`);
    await run('sync');
    const cloneLocalS = await timed(() => git(['clone', '-q', '--no-local', repo, join(local, 'clone')]));
    process.stderr.write('git clone: Strata mount ...\n');
    await run('sync');
    const cloneMountS = await timed(() => git(['clone', '-q', '--no-local', repo, join(mnt, 'clone')]));
    const rows: Row[] = [
      { workload: `tar xf, ${entries} entries, ${(bytes / 2 ** 20).toFixed(0)} MiB`, 'local s': localS, 'mount s': mountS, 'mount/local time': mountS / localS, target: '<= 3x' },
      { workload: `git clone --no-local, ${files} files`, 'local s': cloneLocalS, 'mount s': cloneMountS, 'mount/local time': cloneMountS / cloneLocalS, target: '' },
    ];
    printTable(`Unpacking and cloning onto a Strata mount (defaults) vs the local disk, same run`, rows);
    const opRows: Row[] = Object.entries(stats.ops).sort((a, b) => b[1].micros - a[1].micros).slice(0, 10)
      .map(([op, c]) => ({ op, 'reached JS': c.count, 'JS s': c.micros / 1e6, 'avg us': c.micros / c.count }));
    opRows.push({ op: 'getxattr answered natively', 'reached JS': stats.native?.absentXattrHits ?? 0, 'JS s': 0, 'avg us': 0 });
    opRows.push({ op: 'lookup answered natively', 'reached JS': stats.native?.entryHits ?? 0, 'JS s': 0, 'avg us': 0 });
    opRows.push({ op: 'lookup answered ENOENT natively', 'reached JS': stats.native?.negativeHits ?? 0, 'JS s': 0, 'avg us': 0 });
    opRows.push({ op: 'getattr answered natively', 'reached JS': stats.native?.attrHits ?? 0, 'JS s': 0, 'avg us': 0 });
    printTable('The mount\'s requests during the untar', opRows);
    console.log(`\nresults: ${await writeJson(packageRoot(), 'untar', { entries, bytes, localS, mountS, ratio: mountS / localS, clone: { files, localS: cloneLocalS, mountS: cloneMountS, ratio: cloneMountS / cloneLocalS }, ops: stats.ops, native: stats.native })}`);
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
