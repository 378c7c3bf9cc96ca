// Regions on one machine, made real (bench/regions.ts): the primary on PostgreSQL and an s3rver
// process; each mirror region with its own SQLite metadata, its own s3rver process and its
// replicator process; every connection from a mirror region to region A through a TCP proxy that
// delays each direction. Clients are processes of their own. What a user in region B relies on:
// whatever a mirror client writes it reads back at once (no stale read), a checkpoint saved in B
// is readable in B as soon as it is closed, on the primary at once and in region C moments later,
// and a region cut off from the primary keeps reading while writes fail fast, until the link is back.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegionClient, startRegions, type RegionClient, type Regions } from '../../bench/regions.js';
import { mirrorStatus } from '../../src/mirror/status.js';
import { fuseUnavailable } from '../../src/fuse/native.js';
import { databases } from '../helpers/databases.js';
import { need } from '../helpers/require.js';
import { mountAgain } from '../fuse/mounted.js';

const pg = databases('postgres');
const fuse = need('FUSE', fuseUnavailable());

/** sha256 of a file read through a mount, as any program would read it. */
async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

interface Trials { trials: number; stale: number; details: string[]; ms: number }
interface Tree { files: Record<string, string> }
interface Hash { sha256?: string; bytes?: number; missing?: boolean }

async function converged(client: RegionClient, dir: string, want: Tree, withinMs: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const got = await client.ask<Tree>({ cmd: 'tree', dir });
    if (JSON.stringify(got.files) === JSON.stringify(want.files)) return Date.now() - t0;
    if (Date.now() - t0 > withinMs) {
      expect(got.files, `not converged within ${withinMs} ms`).toEqual(want.files);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function regionSuite(title: string, delayMs: number, body: (get: () => Regions) => void): void {
  describe.skipIf(pg.skip)(title, () => {
    let dir: string;
    let regions: Regions | null = null;
    beforeAll(async () => {
      pg.check();
      dir = await mkdtemp(join(tmpdir(), 'strata-regions-'));
      regions = await startRegions({ primaryMeta: await pg.fresh('regions'), work: dir, mirrors: ['b', 'c'], delayMs });
    }, 120_000);
    afterAll(async () => {
      await regions?.stop();
      await rm(dir, { recursive: true, force: true });
    }, 60_000);
    body(() => regions!);
  });
}

regionSuite('regions on loopback, no added latency', 0, (get) => {
  it('10,000 write-then-read trials through a mirror client read nothing stale, and a second client of the mirror converges', async () => {
    const b = get().mirrors[0]!;
    const writer = startRegionClient(b.meta, b.primary, true);
    const reader = startRegionClient(b.meta, null, false);
    try {
      const r = await writer.ask<Trials>({ cmd: 'trials', n: 10_000, seed: 1, dir: '/t' });
      expect(r.details).toEqual([]);
      expect(r).toMatchObject({ trials: 10_000, stale: 0 });
      await converged(reader, '/t', await writer.ask<Tree>({ cmd: 'tree', dir: '/t' }), 10_000);
    } finally {
      await writer.close();
      await reader.close();
    }
  }, 600_000);
});

regionSuite('regions 30 ms apart', 15, (get) => {
  it('write-then-read trials over the 30 ms link read nothing stale; the other region converges', async () => {
    const [b, c] = get().mirrors as [Regions['mirrors'][0], Regions['mirrors'][0]];
    const writer = startRegionClient(b.meta, b.primary, true);
    const other = startRegionClient(c.meta, null, false);
    try {
      const r = await writer.ask<Trials>({ cmd: 'trials', n: 200, seed: 2, dir: '/t30' });
      expect(r.details).toEqual([]);
      expect(r.stale).toBe(0);
      await converged(other, '/t30', await writer.ask<Tree>({ cmd: 'tree', dir: '/t30' }), 10_000);
    } finally {
      await writer.close();
      await other.close();
    }
  }, 300_000);

  it('a 1 GiB checkpoint written in region B reads back whole in B once closed, through the primary\'s mount at once, and in C within the lag bound', async () => {
    fuse.check();
    const { primary, mirrors: [b, c] } = get();
    const writer = startRegionClient(b!.meta, b!.primary, true);
    const readerB = startRegionClient(b!.meta, null, false);
    const readerC = startRegionClient(c!.meta, null, false);
    const mnt = join(tmpdir(), `strata-regions-mnt-${process.pid}`);
    const mountA = await mountAgain(primary, mnt);
    try {
      await writer.ask({ cmd: 'write', path: '/ckpt', mib: 1024, seed: 9 });
      const [inB, inA] = await Promise.all([readerB.ask<Hash>({ cmd: 'hash', path: '/ckpt' }), hashFile(join(mnt, 'ckpt'))]);
      expect(inB.bytes).toBe(1024 * 1024 * 1024);
      expect(inB.sha256).toBe(inA);
      const t0 = Date.now();
      let inC: Hash = { missing: true };
      while (inC.missing && Date.now() - t0 < 10_000) {
        inC = await readerC.ask<Hash>({ cmd: 'hash', path: '/ckpt' });
        if (inC.missing) await new Promise((r) => setTimeout(r, 100));
      }
      expect(inC.sha256).toBe(inA);
    } finally {
      await Promise.all([writer.close(), readerB.close(), readerC.close()]);
      expect(await mountA.stop()).toBe(0);
      await rm(mnt, { recursive: true, force: true });
    }
  }, 600_000);

  it('cut off from the primary, a region keeps reading, writes fail within 2 s naming the primary, and work again once the link is back', async () => {
    const b = get().mirrors[0]!;
    const writer = startRegionClient(b.meta, b.primary, true);
    try {
      await writer.ask({ cmd: 'latency', n: 3, dir: '/before-cut' });
      for (const link of b.links) link.cut();
      const tree = await writer.ask<Tree>({ cmd: 'tree', dir: '/before-cut' });
      expect(Object.keys(tree.files).sort()).toEqual(['l0', 'l1', 'l2']);
      const t0 = Date.now();
      const failed = await writer.ask({ cmd: 'latency', n: 1, dir: '/during-cut' }).then(() => null, (e: unknown) => e as Error & { code?: string });
      expect(Date.now() - t0).toBeLessThan(2_000);
      expect(failed?.message).toMatch(/primary|127\.0\.0\.1/);
      expect(await writer.ask<Tree>({ cmd: 'tree', dir: '/during-cut' })).toEqual({ files: {} });
      const s = await mirrorStatus(b.meta, { primary: b.primary });
      expect(s.primaryReachable).toBe(false);
      for (const link of b.links) link.restore();
      // Nothing restarted: the same client writes again.
      await writer.ask({ cmd: 'latency', n: 2, dir: '/after-cut' });
      expect(Object.keys((await writer.ask<Tree>({ cmd: 'tree', dir: '/after-cut' })).files).sort()).toEqual(['l0', 'l1']);
    } finally {
      for (const link of b.links) link.restore();
      await writer.close();
    }
  }, 120_000);
});
