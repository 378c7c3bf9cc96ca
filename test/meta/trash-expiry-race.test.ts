// Trash expiry removes an hour directory once it is empty, while other hosts may be moving files
// into that same hour. A move that has put a file there but not yet committed is invisible to
// expiry's first look, so expiry must look again under the locks a move takes before it destroys
// the directory. Otherwise the moved file is left in a directory that no longer exists: out of
// reach of `trash list`'s paths and of every later expiry, its blocks never freed.
//
// The interleaving is made certain, not hoped for: the moving host's transaction is held open
// once it has locked the hour directory (the real server holds the locks), until the expiring
// host has taken its first look into it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatMeta, ROOT_INODE, TRASH_INODE } from '../../src/meta/index.js';
import { engineNeed, metaUrlFor, type Engine } from '../helpers/engines.js';
import { hookedMeta, problemsAt } from '../helpers/hooked-driver.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const DAY_MS = 86_400_000;
const file = () => ({ mode: 0o100644, uid: 0, gid: 0 });

// SQLite lets one writer in at a time: two of its transactions cannot interleave like this.
for (const engine of ['postgres', 'mysql'] as Engine[]) {
  const needs = engineNeed(engine);
  describe.skipIf(needs.skip)(`${engine}: trash expiry racing a move into the trash`, () => {
    it('leaves the hour directory a file is being moved into, and the file reachable and expirable', async () => {
      needs.check();
      const work = await mkdtemp(join(tmpdir(), 'strata-trash-race-'));
      dirs.push(work);
      const url = await metaUrlFor(engine, work);
      await (await formatMeta(url, { name: 'race', storage: `file://${join(work, 'objects')}`, trashDays: 1 })).meta.close();
      const mover = await hookedMeta(url);
      const expirer = await hookedMeta(url);
      try {
        // This hour's directory, empty again: the file moved into it was taken back out.
        await mover.meta.mknod(ROOT_INODE, 'a', file());
        await mover.meta.unlink(ROOT_INODE, 'a', 0);
        const [first] = await mover.meta.listTrash();
        await mover.meta.restoreTrash(first!.path);
        const hourName = first!.path.split('/')[0]!;
        const hour = await mover.meta.lookup(TRASH_INODE, hourName);

        const b = await mover.meta.mknod(ROOT_INODE, 'b', file());
        let looked!: () => void;
        const expiryLooked = new Promise<void>((resolve) => { looked = resolve; });
        let moved!: () => void;
        const movedIn = new Promise<void>((resolve) => { moved = resolve; });
        // The move has locked the hour directory (its entry and its inode) and is about to put the
        // file into it, its transaction open.
        mover.after(/FROM inodes i WHERE i\.ino = \(SELECT d\.ino FROM dentries d WHERE d\.parent = \? AND d\.name = \?\)/,
          (p) => Number(p[0]) === TRASH_INODE && p[1] === hourName, async () => {
          moved();
          await expiryLooked;
        });
        const unlinking = mover.meta.unlink(ROOT_INODE, 'b', 0);
        await movedIn;
        // Expiry's first look into the hour directory: empty, as far as anything committed says.
        expirer.after(/^SELECT 1 AS x FROM dentries WHERE parent = \?/, (p) => Number(p[0]) === hour.ino, async () => looked());
        const expiring = expirer.meta.emptyTrash(DAY_MS);
        await Promise.all([unlinking, expiring]);

        const trash = await mover.meta.listTrash();
        expect(trash.map((e) => e.ino)).toEqual([b.ino]);
        // (A move that lost a deadlock to expiry and was retried made the hour directory anew.)
        const [hourNow, entry] = trash[0]!.path.split('/');
        expect(hourNow).toBe(hourName);
        const hourDir = await mover.meta.lookup(TRASH_INODE, hourName);
        expect((await mover.meta.lookup(hourDir.ino, entry!)).ino).toBe(b.ino);
        // And when its time comes, it goes, with the directory.
        expect(await expirer.meta.emptyTrash(0)).toBe(1);
        await expect(mover.meta.getattr(b.ino)).rejects.toMatchObject({ code: 'ENOENT' });
        await expect(mover.meta.lookup(TRASH_INODE, hourName)).rejects.toMatchObject({ code: 'ENOENT' });
      } finally {
        await mover.meta.close();
        await expirer.meta.close();
      }
      expect(await problemsAt(url)).toEqual([]);
    }, 60_000);
  });
}
