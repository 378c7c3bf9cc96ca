// strata warmup, run as users run it (the built CLI in a child process): it fills the disk cache
// with the blocks of the given trees, --check agrees with the bytes actually present in the cache
// directories, --evict drops them, and bad invocations say what is wrong.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Volume } from '../../src/index.js';
import { cacheFileSize } from '../../src/chunk/cache-file.js';

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const KiB = 1024;

function strata(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

let dir: string;
let url: string;
let cacheA: string;
let cacheB: string;
/** Block lengths of everything under /data. */
const blockLengths: number[] = [];

/** Cache files under `root` and their total size. */
async function onDisk(root: string): Promise<{ files: string[]; bytes: number }> {
  const files: string[] = [];
  let bytes = 0;
  for (const e of await readdir(root, { recursive: true, withFileTypes: true }).catch(() => [])) {
    if (!e.isFile()) continue;
    const p = join(e.parentPath, e.name);
    files.push(p);
    bytes += (await stat(p)).size;
  }
  return { files, bytes };
}

/** The "cached" column of --check, per directory, parsed back to bytes of blocks. */
function checkRows(out: string): Map<string, { blocks: string; percent: string }> {
  const rows = new Map<string, { blocks: string; percent: string }>();
  for (const line of out.split('\n')) {
    const cols = line.trim().split(/\s{2,}/);
    if (cols.length === 5 && cols[0] !== 'cache directory') rows.set(cols[0], { blocks: cols[1], percent: cols[4] });
  }
  return rows;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-warmup-'));
  url = `sqlite3://${join(dir, 'meta.db')}`;
  cacheA = join(dir, 'cache-a');
  cacheB = join(dir, 'cache-b');
  await Volume.format(url, { name: 'warm', blockSize: 64 * KiB, trashDays: 0 });
  const vol = await Volume.open(url, { cacheDir: null });
  await vol.mkdir('/data/deep/er', { recursive: true });
  const sizes = [0, 1000, 64 * KiB, 200 * KiB + 7, 5 * KiB];
  for (const [i, n] of sizes.entries()) {
    const b = Buffer.alloc(n, i + 1);
    await vol.writeFile(i % 2 ? `/data/deep/f${i}` : `/data/deep/er/f${i}`, b);
    for (let at = 0; at < n; at += 64 * KiB) blockLengths.push(Math.min(64 * KiB, n - at));
  }
  await vol.writeFile('/elsewhere', 'not asked for');
  await vol.close();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('strata warmup', () => {
  it('fills the cache directories with exactly the blocks of the given tree; --check agrees with the disk', async () => {
    const cacheFlag = `${cacheA}:${cacheB}`;
    const before = strata('warmup', '--meta', url, '--cache-dir', cacheFlag, '--check', '/data');
    expect(before.code, before.err).toBe(0);
    expect([...checkRows(before.out).values()].every((r) => r.percent === '0.0%' || r.percent === '-')).toBe(true);

    const r = strata('warmup', '--meta', url, '--cache-dir', cacheFlag, '--threads', '3', '/data');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(new RegExp(`5 files, ${blockLengths.length} blocks`));
    expect(r.out).toMatch(new RegExp(`Warmed up ${blockLengths.length} blocks: ${blockLengths.length} fetched`));
    const a = await onDisk(cacheA);
    const b = await onDisk(cacheB);
    expect(a.files.length + b.files.length).toBe(blockLengths.length);
    expect(a.bytes + b.bytes).toBe(blockLengths.reduce((n, l) => n + cacheFileSize(l), 0));
    // Spread over both directories by key.
    expect(a.files.length).toBeGreaterThan(0);
    expect(b.files.length).toBeGreaterThan(0);

    const again = strata('warmup', '--meta', url, '--cache-dir', cacheFlag, '/data');
    expect(again.out).toMatch(/0 fetched .* already cached/);

    const full = checkRows(strata('warmup', '--meta', url, '--cache-dir', cacheFlag, '--check', '/data').out);
    expect(full.get(cacheA)).toEqual({ blocks: `${a.files.length}/${a.files.length}`, percent: '100.0%' });
    expect(full.get(cacheB)).toEqual({ blocks: `${b.files.length}/${b.files.length}`, percent: '100.0%' });

    // Remove one cache file by hand: --check sees exactly that.
    await rm(a.files[0]);
    const partial = checkRows(strata('warmup', '--meta', url, '--cache-dir', cacheFlag, '--check', '/data').out);
    expect(partial.get(cacheA)!.blocks).toBe(`${a.files.length - 1}/${a.files.length}`);
    expect(partial.get('(all)')!.blocks).toBe(`${blockLengths.length - 1}/${blockLengths.length}`);

    const ev = strata('warmup', '--meta', url, '--cache-dir', cacheFlag, '--evict', '/data/deep/er');
    expect(ev.code, ev.err).toBe(0);
    const after = checkRows(strata('warmup', '--meta', url, '--cache-dir', cacheFlag, '--check', '/data/deep/er').out);
    expect(after.get('(all)')!.percent).toBe('0.0%');
  });

  it('says what is wrong: no cache, paths not on a mount, relative paths with --meta, --check with --evict', () => {
    const noCache = strata('warmup', '--meta', url, '/data');
    expect(noCache.code).toBe(1);
    expect(noCache.err).toMatch(/no disk cache .* --cache-dir/);
    const notMounted = strata('warmup', dir);
    expect(notMounted.code).toBe(2);
    expect(notMounted.err).toMatch(/not on a Strata mount/);
    const relative = strata('warmup', '--meta', url, 'data');
    expect(relative.code).toBe(2);
    expect(relative.err).toMatch(/start with "\/"/);
    const both = strata('warmup', '--meta', url, '--check', '--evict', '/data');
    expect(both.code).toBe(2);
    const missing = strata('warmup', '--meta', url, '--cache-dir', cacheA, '/nope');
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/ENOENT/);
    const badRatio = strata('warmup', '--meta', url, '--free-space-ratio', '2', '/data');
    expect(badRatio.code).toBe(2);
    expect(badRatio.err).toMatch(/--free-space-ratio/);
  });
});
