// The strata command line, run as users run it: the built binary in a child process.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Volume } from '../../src/index.js';
import { need } from '../helpers/require.js';

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

function strata(...args: string[]): { code: number | null; out: string; err: string } {
  return strataWith({}, ...args);
}

function strataWith(env: Record<string, string>, ...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

let dir: string;
let url: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-cli-'));
  url = `sqlite3://${join(dir, 'meta.db')}`;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('strata CLI', () => {
  it('prints help for every command and exits 0', () => {
    for (const cmd of [[], ['format'], ['status'], ['config'], ['info'], ['rmr'], ['trash'], ['trash', 'list'], ['demo'], ['mount'], ['umount'], ['stats'], ['bench']]) {
      const r = strata(...cmd, '--help');
      expect(r.code, cmd.join(' ')).toBe(0);
      expect(r.out).toMatch(/Usage: strata/);
    }
  });

  it('formats a volume, and a re-run changes only what it may and says what changed', () => {
    const first = strata('format', url, 'vol1', '--block-size', '1M', '--trash-days', '2');
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/Formatted volume "vol1"/);
    expect(existsSync(join(dir, 'data'))).toBe(true);
    const same = strata('format', url, 'vol1');
    expect(same.code).toBe(0);
    expect(same.out).toMatch(/nothing changed/);
    const changed = strata('format', url, 'vol1', '--trash-days', '3');
    expect(changed.code).toBe(0);
    expect(changed.out).toMatch(/trashDays: 2 -> 3/);
    const renamed = strata('format', url, 'other');
    expect(renamed.code).toBe(1);
    expect(renamed.err).toMatch(/already holds volume "vol1"/);
    const block = strata('format', url, 'vol1', '--block-size', '4M');
    expect(block.code).toBe(1);
    expect(block.err).toMatch(/block size .* cannot change/);
    const status = strata('status', url, '--json');
    expect(status.code).toBe(0);
    const s = JSON.parse(status.out) as { settings: { blockSize: number; trashDays: number; name: string } };
    expect(s.settings).toMatchObject({ name: 'vol1', blockSize: 1024 * 1024, trashDays: 3 });
  });

  it('refuses bad input with a specific message, a non-zero exit, and no volume created', () => {
    const elsewhere = `sqlite3://${join(dir, 'bad', 'meta.db')}`;
    const cases: [string[], number, RegExp][] = [
      [['format', elsewhere, 'a/b'], 1, /cannot contain "\/"/],
      [['format', elsewhere, 'ok', '--block-size', '3M'], 2, /not a power of two/],
      [['format', elsewhere, 'ok', '--block-size', '100'], 2, /did you mean 100K/],
      [['format', elsewhere, 'ok', '--trash-days', '-1'], 2, /--trash-days takes a whole number/],
      [['format', 'sqlite://x.db', 'ok'], 1, /scheme is "sqlite3"/],
      [['status', elsewhere, '--bogus'], 2, /unknown option '--bogus'/],
      [['status', elsewhere], 1, /no Strata volume .*"strata format/],
      [['nosuchcommand'], 2, /unknown command/],
    ];
    for (const [args, code, message] of cases) {
      const r = strata(...args);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.err, args.join(' ')).toMatch(message);
    }
    expect(existsSync(join(dir, 'bad', 'meta.db'))).toBe(false);
  });

  it('config changes settings and reports them', () => {
    const r = strata('config', url, '--capacity', '10G', '--inodes', '1000');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/capacity: 0 -> 10737418240/);
    expect(strata('config', url).code).toBe(2);
    expect(strata('config', url, '--storage', 'file:///elsewhere').code).toBe(2);
  });

  it('info shows chunks and object keys; rmr moves files to the trash; trash restore and empty', async () => {
    const vol = await Volume.open(url);
    await vol.mkdir('/proj/sub', { recursive: true });
    await vol.writeFile('/proj/a.bin', Buffer.alloc(3 * 1024 * 1024, 7));
    await vol.writeFile('/proj/sub/b.txt', 'hello');
    const ino = (await vol.stat('/proj/a.bin')).ino;
    await vol.close();

    const info = strata('info', url, '/proj/a.bin', '--json');
    expect(info.code).toBe(0);
    const parsed = JSON.parse(info.out) as { inode: number; length: number; chunks: { slices: { keys: string[] }[] }[] };
    expect(parsed.inode).toBe(ino);
    expect(parsed.length).toBe(3 * 1024 * 1024);
    expect(parsed.chunks[0].slices[0].keys).toHaveLength(3);
    expect(parsed.chunks[0].slices[0].keys[0]).toMatch(/^chunks\/0\/0\/\d+_0_1048576$/);
    const byInode = strata('info', url, '--inode', String(ino));
    expect(byInode.code).toBe(0);
    expect(byInode.out).toMatch(/_2_1048576/);

    const rmr = strata('rmr', url, '/proj');
    expect(rmr.code).toBe(0);
    expect(rmr.out).toMatch(/Removed 4 entries/);
    const list = strata('trash', 'list', url, '--json');
    const entries = JSON.parse(list.out) as { path: string; name: string }[];
    expect(entries.map((e) => e.name).sort()).toEqual(['a.bin', 'b.txt']);
    // The directories are gone, so a restore has nowhere to go: a clear error, nothing changed.
    const lost = strata('trash', 'restore', url, entries[0].path);
    expect(lost.code).toBe(1);
    expect(lost.err).toMatch(/is gone/);

    const vol2 = await Volume.open(url);
    await vol2.mkdir('/keep');
    await vol2.writeFile('/keep/c.txt', 'restore me');
    await vol2.unlink('/keep/c.txt');
    await vol2.close();
    const again = JSON.parse(strata('trash', 'list', url, '--json').out) as { path: string; name: string }[];
    const c = again.find((e) => e.name === 'c.txt');
    expect(c).toBeDefined();
    expect(strata('trash', 'restore', url, c!.path).code).toBe(0);
    const vol3 = await Volume.open(url);
    expect(await vol3.readFile('/keep/c.txt', 'utf8')).toBe('restore me');
    await vol3.close();

    const empty = strata('trash', 'empty', url);
    expect(empty.code).toBe(0);
    expect(empty.out).toMatch(/Freed 2 trashed entries/);
    expect(JSON.parse(strata('trash', 'list', url, '--json').out)).toEqual([]);
    const usage = JSON.parse(strata('status', url, '--json').out) as { usage: { usedBytes: number; pendingSlices: number } };
    expect(usage.usage.usedBytes).toBe(4096);
    expect(usage.usage.pendingSlices).toBe(0);
  });

  it('rmr --skip-trash frees data at once', async () => {
    const vol = await Volume.open(url);
    await vol.writeFile('/gone.bin', Buffer.alloc(100_000, 1));
    await vol.close();
    const r = strata('rmr', url, '/gone.bin', '--skip-trash');
    expect(r.code).toBe(0);
    const list = JSON.parse(strata('trash', 'list', url, '--json').out) as { name: string }[];
    expect(list.some((e) => e.name === 'gone.bin')).toBe(false);
  });

  it('mount without a usable FUSE addon says why and what to install, and mounts nothing', async () => {
    const mnt = join(dir, 'no-fuse-mnt');
    await import('node:fs/promises').then((fs) => fs.mkdir(mnt, { recursive: true }));
    const r = strataWith({ STRATA_FUSE_ADDON: join(dir, 'missing', 'strata_fuse.node') }, 'mount', url, mnt);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/FUSE addon is not built|libfuse3-dev/);
    expect(r.err).toMatch(/npm run setup|apt-get install/);
  });

  it('mount refuses a mountpoint that does not exist, and bad flag values as usage errors', () => {
    const r = strata('mount', url, join(dir, 'no', 'such', 'dir'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/does not exist/);
    const bad = strata('mount', url, dir, '--attr-cache', 'soon');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--attr-cache/);
  });

  it('bench runs on any directory, shows a summary table, and leaves nothing behind', async () => {
    const target = join(dir, 'bench-target');
    await import('node:fs/promises').then((fs) => fs.mkdir(target, { recursive: true }));
    const r = strata('bench', target, '--threads', '2', '--big-file-size', '4M', '--small-file-count', '20', '--small-file-size', '4K');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/Write big file\s+\|\s+[\d.]+ MiB\/s/);
    expect(r.out).toMatch(/Stat small file\s+\|\s+[\d.]+ files\/s/);
    expect(await import('node:fs/promises').then((fs) => fs.readdir(target))).toEqual([]);
    const missing = strata('bench', join(dir, 'nope'));
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/no such directory/);
  });

  it('bench compares directories: each against the first, with the numbers as JSON and an SVG chart that renders', async () => {
    const fs = await import('node:fs/promises');
    const [a, b] = [join(dir, 'bench-a'), join(dir, 'bench-b')];
    await fs.mkdir(a, { recursive: true });
    await fs.mkdir(b, { recursive: true });
    const chart = join(dir, 'bench.svg');
    const json = join(dir, 'bench.json');
    const r = strata('bench', a, b, '--big-file-size', '2M', '--small-file-count', '10', '--small-file-size', '4K', '--chart', chart, '--json', json);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`Each against ${a}`);
    const results = JSON.parse(await fs.readFile(json, 'utf8')) as { runs: { path: string; rows: { item: string; value: number }[] }[] };
    expect(results.runs.map((x) => x.path)).toEqual([a, b]);
    expect(results.runs[1].rows.map((x) => x.item)).toEqual(['Write big file', 'Read big file', 'Write small file', 'Read small file', 'Stat small file']);
    const svg = await fs.readFile(chart, 'utf8');
    // A bar per item and directory, and one per ratio; the items and directories are named.
    expect(svg.match(/aria-roledescription="bar"/g)?.length).toBe(5 * 2 + 5);
    for (const text of ['Write big file', 'Stat small file', a, b]) expect(svg).toContain(text);
    // It is an image a browser or rsvg draws (Debian's rsvg-convert).
    need('rsvg-convert (apt-get install librsvg2-bin)', spawnSync('rsvg-convert', ['--version']).status === 0 ? null : 'rsvg-convert').check();
    const png = spawnSync('rsvg-convert', [chart, '-o', join(dir, 'bench.png')]);
    expect(png.status, png.stderr?.toString()).toBe(0);
    expect((await fs.stat(join(dir, 'bench.png'))).size).toBeGreaterThan(10_000);
    const unwritable = strata('bench', a, '--chart', join(dir, 'no', 'such', 'x.svg'));
    expect(unwritable.code).toBe(2);
    expect(unwritable.err).toMatch(/cannot write .*x\.svg: its directory does not exist/);
  });

  it('demo writes, verifies and prints status', () => {
    const demoUrl = `sqlite3://${join(dir, 'demo', 'meta.db')}`;
    const r = strata('demo', demoUrl, '--size', '8');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/sha256 matches/);
    expect(r.out).toMatch(/Volume "demo"/);
  });
});
