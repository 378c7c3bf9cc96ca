// fsck --repair puts a file that is still linked but unreachable under /lost+found. If the
// directory is removed (it is an ordinary, empty directory) while the repair puts the file into
// it, the file must not end up in a directory that no longer exists: unreachable again, and this
// time with no entry fsck can see. The repair locks lost+found's entry as rmdir does, so one of
// them waits for the other: rmdir then finds the directory not empty.
//
// A directory renamed over lost+found while the repair waits for its entry becomes the place the
// file goes (PostgreSQL's locking read finds the replaced entry gone, and the repair's own
// lost+found then clashes with the new one: it is run again, as for any concurrent change).
//
// The orders are forced: one transaction is held once it has looked lost+found up.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseMetaUrl } from '../../src/config/urls.js';
import { formatMeta, ROOT_INODE } from '../../src/meta/index.js';
import { openDriver } from '../../src/meta/sql/open.js';
import { engineNeed, metaUrlFor, type Engine } from '../helpers/engines.js';
import { hookedMeta, problemsAt } from '../helpers/hooked-driver.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** How long the repair is held when rmdir cannot finish meanwhile (it waits for the repair's lock). */
const HOLD_MS = 500;

// SQLite lets one writer in at a time: two of its transactions cannot interleave like this.
for (const engine of ['postgres', 'mysql'] as Engine[]) {
  const needs = engineNeed(engine);
  describe.skipIf(needs.skip)(`${engine}: fsck --repair racing changes to /lost+found`, () => {
    async function setUp() {
      needs.check();
      const work = await mkdtemp(join(tmpdir(), 'strata-lost-found-race-'));
      dirs.push(work);
      const url = await metaUrlFor(engine, work);
      await (await formatMeta(url, { name: 'race', storage: `file://${join(work, 'objects')}`, trashDays: 0 })).meta.close();
      const fsck = await hookedMeta(url);
      const user = await hookedMeta(url);
      const lostFound = await user.meta.mkdir(ROOT_INODE, 'lost+found', { mode: 0o040700, uid: 0, gid: 0 });
      const f = await user.meta.mknod(ROOT_INODE, 'f', { mode: 0o100644, uid: 0, gid: 0 });
      // Damage: the file's only name is lost, its link count still says 1.
      const raw = (await openDriver(parseMetaUrl(url))).driver;
      try {
        await raw.transaction((c) => c.run('DELETE FROM dentries WHERE parent = ? AND name = ?', [ROOT_INODE, 'f']));
      } finally {
        await raw.close();
      }
      const finish = async () => {
        await fsck.meta.close();
        await user.meta.close();
        return problemsAt(url);
      };
      return { fsck, user, lostFound, f, finish };
    }

    const lostFoundEntry = /^SELECT cookie, ino, type FROM dentries WHERE parent = \? AND name = \?/;
    const isLostFound = (p: readonly unknown[]) => Number(p[0]) === ROOT_INODE && p[1] === 'lost+found';

    it('keeps the file it repairs reachable: rmdir finds lost+found not empty', async () => {
      const { fsck, user, lostFound, f, finish } = await setUp();
      let removing: Promise<unknown> | null = null;
      // The repair has looked lost+found up; rmdir comes now.
      fsck.after(lostFoundEntry, isLostFound, async () => {
        removing = user.meta.rmdir(ROOT_INODE, 'lost+found', 0).then(() => 'removed', (err: { code?: string }) => err.code);
        await Promise.race([removing, new Promise((resolve) => setTimeout(resolve, HOLD_MS))]);
      });
      const problems = await fsck.meta.checkVolume(true);
      expect(problems.filter((p) => p.kind === 'orphan').map((p) => [p.ino, p.repaired])).toEqual([[f.ino, true]]);
      expect(removing).not.toBeNull();
      expect(await removing).toBe('ENOTEMPTY');
      const again = await user.meta.lookup(ROOT_INODE, 'lost+found');
      expect(again.ino).toBe(lostFound.ino);
      expect((await user.meta.lookup(again.ino, `#${f.ino}`)).ino).toBe(f.ino);
      expect(await finish()).toEqual([]);
    }, 60_000);

    it('a directory renamed over lost+found while the repair waits for it: the file goes into that directory', async () => {
      const { fsck, user, f, finish } = await setUp();
      const other = await user.meta.mkdir(ROOT_INODE, 'other', { mode: 0o040700, uid: 0, gid: 0 });
      let repairing: Promise<Awaited<ReturnType<typeof fsck.meta.checkVolume>>> | null = null;
      // The rename holds lost+found's entry; the repair starts and waits for it; the rename then
      // replaces the entry. (On PostgreSQL the repair's locking read then finds no entry at all.)
      user.after(lostFoundEntry, isLostFound, async () => {
        repairing = fsck.meta.checkVolume(true);
        repairing.catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
      });
      await user.meta.rename(ROOT_INODE, 'other', ROOT_INODE, 'lost+found', 0, 0);
      expect(repairing).not.toBeNull();
      const problems = await repairing!;
      expect(problems.filter((p) => p.kind === 'orphan').map((p) => [p.ino, p.repaired])).toEqual([[f.ino, true]]);
      const now = await user.meta.lookup(ROOT_INODE, 'lost+found');
      expect(now.ino).toBe(other.ino);
      expect((await user.meta.lookup(other.ino, `#${f.ino}`)).ino).toBe(f.ino);
      expect(await finish()).toEqual([]);
    }, 60_000);
  });
}

// Not a race: a name fsck would use is someone's file already. The repair steps around it at once
// instead of retrying a clash that can never clear.
for (const engine of ['sqlite', 'postgres', 'mysql'] as Engine[]) {
  const needs = engineNeed(engine);
  describe.skipIf(needs.skip)(`${engine}: fsck --repair when /lost+found/#INODE is taken`, () => {
    it('puts the file under #INODE.1', async () => {
      needs.check();
      const work = await mkdtemp(join(tmpdir(), 'strata-lost-found-taken-'));
      dirs.push(work);
      const url = await metaUrlFor(engine, work);
      const meta = (await formatMeta(url, { name: 'taken', storage: `file://${join(work, 'objects')}`, trashDays: 0 })).meta;
      try {
        const lostFound = await meta.mkdir(ROOT_INODE, 'lost+found', { mode: 0o040700, uid: 0, gid: 0 });
        const f = await meta.mknod(ROOT_INODE, 'f', { mode: 0o100644, uid: 0, gid: 0 });
        const mine = await meta.mknod(lostFound.ino, `#${f.ino}`, { mode: 0o100644, uid: 0, gid: 0 });
        const raw = (await openDriver(parseMetaUrl(url))).driver;
        try {
          await raw.transaction((c) => c.run('DELETE FROM dentries WHERE parent = ? AND name = ?', [ROOT_INODE, 'f']));
        } finally {
          await raw.close();
        }
        const problems = await meta.checkVolume(true);
        expect(problems.filter((p) => p.kind === 'orphan').map((p) => [p.ino, p.repaired])).toEqual([[f.ino, true]]);
        expect((await meta.lookup(lostFound.ino, `#${f.ino}`)).ino).toBe(mine.ino);
        expect((await meta.lookup(lostFound.ino, `#${f.ino}.1`)).ino).toBe(f.ino);
      } finally {
        await meta.close();
      }
    }, 60_000);
  });
}
