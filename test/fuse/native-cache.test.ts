// The native attribute cache: once the kernel's own 1 s cache lapses, its getattr and lookup
// requests are answered on the FUSE threads from what JS last answered, as long as nothing may
// have changed since. The answers must be the truth: this mount's own changes show at once, and
// another mount's (another process, as another host) within the attribute-cache time.
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuseUnavailable } from '../../src/fuse/native.js';
import type { StatsSnapshot } from '../../src/fuse/stats.js';
import { Volume } from '../../src/index.js';
import { need } from '../helpers/require.js';
import { mountAgain, mountForSuite, type TestMount } from './mounted.js';

const fuse = need('FUSE', fuseUnavailable());
const FILES = 300;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function snapshot(mountpoint: string): Promise<StatsSnapshot> {
  return JSON.parse(await fs.readFile(join(mountpoint, '.stats'), 'utf8')) as StatsSnapshot;
}

function shown(s: { mode: number; uid: number; gid: number; size: number; nlink: number; mtimeMs: number; ino: number }) {
  return { mode: s.mode, uid: s.uid, gid: s.gid, size: s.size, nlink: s.nlink, mtimeMs: Math.floor(s.mtimeMs), ino: s.ino };
}

/** Wait until `probe` holds, at most `ms`; returns how long it took. */
async function within(ms: number, probe: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  while (!(await probe())) {
    if (Date.now() - start > ms) throw new Error(`not seen within ${ms} ms`);
    await sleep(10);
  }
  return Date.now() - start;
}

describe.skipIf(fuse.skip)('native attribute cache', () => {
  const mount = mountForSuite(fuse);
  let m: TestMount;
  let other: Awaited<ReturnType<typeof mountAgain>>;
  let otherMnt: string;

  beforeAll(async () => {
    m = mount();
    otherMnt = join(m.dir, 'other');
    other = await mountAgain(m.metaUrl, otherMnt);
    await fs.mkdir(join(m.mountpoint, 'tree'));
    for (let i = 0; i < FILES; i++) await fs.writeFile(join(m.mountpoint, 'tree', `f${i}`), 'x'.repeat(i));
  }, 60_000);

  afterAll(async () => {
    if (other) expect(await other.stop(), other.log()).toBe(0);
  });

  it('stats after the kernel cache lapsed are answered natively, with what an SDK client reads', async () => {
    const paths = Array.from({ length: FILES }, (_, i) => join(m.mountpoint, 'tree', `f${i}`));
    // The kernel's RELEASEs of the files just written arrive late and count as changes: after
    // them, a round through JS records what the next round gets natively.
    for (const p of paths) await fs.stat(p);
    await sleep(1200);
    for (const p of paths) await fs.stat(p);
    await sleep(1200);
    const before = await snapshot(m.mountpoint);
    const seen = [];
    for (const p of paths) seen.push(shown(await fs.stat(p)));
    const after = await snapshot(m.mountpoint);
    const native = (after.native!.entryHits + after.native!.attrHits) - (before.native!.entryHits + before.native!.attrHits);
    expect(native).toBeGreaterThanOrEqual(FILES);
    expect((after.ops.lookup?.count ?? 0) - (before.ops.lookup?.count ?? 0)).toBeLessThan(FILES / 10);
    const vol = await Volume.open(m.metaUrl, { cacheDir: null });
    try {
      const truth = [];
      for (let i = 0; i < FILES; i++) truth.push(shown(await vol.stat(`/tree/f${i}`)));
      expect(seen.map(({ ino: _ino, ...rest }) => rest)).toEqual(truth.map(({ ino: _ino, ...rest }) => rest));
    } finally {
      await vol.close();
    }
  }, 60_000);

  it('files just written here are stat\'ed natively once the kernel cache lapses, without a round through JS', async () => {
    // Each change marks only what it touches: writing one file keeps what was recorded for the
    // others (the create's answer, and the attributes its last flush left).
    await fs.mkdir(join(m.mountpoint, 'fresh'));
    const paths = Array.from({ length: FILES }, (_, i) => join(m.mountpoint, 'fresh', `f${i}`));
    for (const [i, p] of paths.entries()) await fs.writeFile(p, 'y'.repeat(i));
    await sleep(1200);
    const before = await snapshot(m.mountpoint);
    const seen = [];
    for (const p of paths) seen.push(shown(await fs.stat(p)));
    const after = await snapshot(m.mountpoint);
    expect((after.ops.lookup?.count ?? 0) - (before.ops.lookup?.count ?? 0)).toBeLessThan(FILES / 10);
    expect(after.native!.entryHits - before.native!.entryHits).toBeGreaterThanOrEqual(FILES * 0.9);
    expect(seen.map((s) => s.size)).toEqual(paths.map((_, i) => i));
  }, 60_000);

  it('a name looked up and found absent is answered absent natively until it is made, here or elsewhere', async () => {
    const here = join(m.mountpoint, 'tree', 'not-yet');
    const there = join(otherMnt, 'tree', 'not-there-yet');
    await expect(fs.stat(here)).rejects.toMatchObject({ code: 'ENOENT' });
    const before = await snapshot(m.mountpoint);
    await expect(fs.stat(here)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fs.stat(join(m.mountpoint, 'tree', 'not-there-yet'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fs.stat(join(m.mountpoint, 'tree', 'not-there-yet'))).rejects.toMatchObject({ code: 'ENOENT' });
    const after = await snapshot(m.mountpoint);
    expect(after.native!.negativeHits - before.native!.negativeHits).toBeGreaterThanOrEqual(2);
    await fs.writeFile(here, 'now');
    expect((await fs.stat(here)).size).toBe(3);
    await fs.writeFile(there, 'made elsewhere');
    await within(1000 + 400, () => fs.stat(join(m.mountpoint, 'tree', 'not-there-yet')).then(() => true, () => false));
  });

  it('a commit a read makes of data written through another descriptor shows at once', async () => {
    // The written bytes wait in memory; a stat answered meanwhile (and kept natively) shows them
    // with the times of the write. A read through another descriptor commits them first.
    const p = join(m.mountpoint, 'tree', 'buffered');
    const writer = await fs.open(p, 'w');
    try {
      await writer.write(Buffer.alloc(10_000, 7), 0, 10_000, 0);
      await sleep(1100);
      await fs.stat(p);
      await sleep(20);
      const reader = await fs.open(p, 'r');
      await reader.read(Buffer.alloc(100), 0, 100, 0);
      await reader.close();
      const seen = shown(await fs.stat(p));
      const vol = await Volume.open(m.metaUrl, { cacheDir: null });
      try {
        const { ino: _a, ...truth } = shown(await vol.stat('/tree/buffered'));
        const { ino: _b, ...here } = seen;
        expect(here).toEqual(truth);
      } finally {
        await vol.close();
      }
    } finally {
      await writer.close();
    }
  });

  it('this mount\'s own changes show at once, even on names and inodes the cache holds', async () => {
    const p = join(m.mountpoint, 'tree', 'f7');
    await fs.stat(p);
    await sleep(1100);
    await fs.stat(p); // now held natively
    await fs.chmod(p, 0o600);
    expect((await fs.stat(p)).mode & 0o777).toBe(0o600);
    await fs.appendFile(p, 'more');
    expect((await fs.stat(p)).size).toBe(11);
    await fs.rename(p, join(m.mountpoint, 'tree', 'moved'));
    await expect(fs.stat(p)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await fs.stat(join(m.mountpoint, 'tree', 'moved'))).size).toBe(11);
    // Link counts of names the cache holds, through a link, an unlink of an open file and a
    // rename over one.
    const a = join(m.mountpoint, 'tree', 'f20');
    const b = join(m.mountpoint, 'tree', 'f21');
    for (const q of [a, b]) await fs.stat(q);
    await sleep(1100);
    for (const q of [a, b]) await fs.stat(q);
    await fs.link(a, join(m.mountpoint, 'tree', 'f20-link'));
    expect((await fs.stat(a)).nlink).toBe(2);
    const held = await fs.open(b, 'r');
    try {
      await fs.rename(a, b);
      expect((await held.stat()).nlink).toBe(0);
      expect((await fs.stat(b)).nlink).toBe(2);
      await fs.unlink(join(m.mountpoint, 'tree', 'f20-link'));
      expect((await fs.stat(b)).nlink).toBe(1);
    } finally {
      await held.close();
    }
  });

  it('another mount\'s chmod, write, unlink and create show within the attribute-cache time', async () => {
    const here = (name: string) => join(m.mountpoint, 'tree', name);
    const there = (name: string) => join(otherMnt, 'tree', name);
    // Warm this mount's native cache for the names involved.
    for (const n of ['f10', 'f11', 'f12']) await fs.stat(here(n));
    await sleep(1100);
    for (const n of ['f10', 'f11', 'f12']) await fs.stat(here(n));
    const bound = 1000 + 400; // the kernel's 1 s, plus scheduling on a loaded machine
    await fs.chmod(there('f10'), 0o640);
    await within(bound, async () => ((await fs.stat(here('f10'))).mode & 0o777) === 0o640);
    await fs.writeFile(there('f11'), 'y'.repeat(5000));
    await within(bound, async () => (await fs.stat(here('f11'))).size === 5000);
    await fs.unlink(there('f12'));
    await within(bound, () => fs.stat(here('f12')).then(() => false, (e: { code?: string }) => e.code === 'ENOENT'));
    await fs.writeFile(there('born'), 'z');
    await within(bound, () => fs.stat(here('born')).then(() => true, () => false));
  }, 30_000);
});
