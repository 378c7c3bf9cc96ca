// What a request's commits changed, as the mount hands it to the native attribute cache: taken
// from the engine's report of this client's own commits, and "unknown" (null) whenever it cannot
// be complete, so that the native core then marks every inode rather than trusting an empty list.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OwnCommits } from '../../src/fuse/own-commits.js';
import { Volume } from '../../src/index.js';

describe('own commits', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('names the inodes and names an unlink committed, the removed file and its trash entry among them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-own-'));
    dirs.push(dir);
    const url = `sqlite3://${join(dir, 'meta.db')}`;
    await Volume.format(url, { name: 'own', storage: `file://${join(dir, 'data')}`, trashDays: 1 });
    const vol = await Volume.open(url, { cacheDir: null });
    try {
      let seq = 100;
      const own = new OwnCommits(vol.vfs.meta, () => ++seq);
      await vol.mkdir('/d');
      await vol.writeFile('/d/f', 'x');
      const ino = (await vol.stat('/d/f')).ino;
      const dirIno = (await vol.stat('/d')).ino;
      const mark = own.mark();
      await vol.unlink('/d/f');
      const keys = own.since(mark)!;
      expect(keys.inos).toEqual(expect.arrayContaining([ino, dirIno]));
      const names = keys.names.map((n, i) => `${keys.parents[i]}/${n}`);
      expect(names).toContain(`${dirIno}/f`);
      // The file's name in the trash is new too.
      expect(keys.names.length).toBeGreaterThanOrEqual(2);
      expect(own.since(own.mark())).toEqual({ inos: [], parents: [], names: [] });
      own.close();
    } finally {
      await vol.close();
    }
  });

  it('says unknown when the engine does not report commits, or when more committed than it keeps', async () => {
    const silent = new OwnCommits({}, () => 1);
    expect(silent.since(silent.mark())).toBeNull();
    let report: ((version: number, rows: readonly never[]) => void) | undefined;
    const own = new OwnCommits({ watchOwnCommits: (l) => { report = l; return () => undefined; } }, () => 1);
    const mark = own.mark();
    for (let v = 1; v <= 10_000; v++) report!(v, []);
    expect(own.since(mark)).toBeNull();
    expect(own.since(own.mark())).toEqual({ inos: [], parents: [], names: [] });
  });
});
