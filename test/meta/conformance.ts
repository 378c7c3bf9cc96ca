// The behaviour every metadata engine promises (SQLite now, PostgreSQL later). Each engine's test
// file calls metaConformance with a factory for a fresh, formatted, empty volume.
//
// The factory may take options (trashDays: most tests want the trash off, the trash tests want it
// on). The suite closes the engines it was handed (and any it reopened) before calling cleanup().
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ROOT_INODE, TRASH_INODE, TRASH_NAME,
  type ChangeEntry, type DirEntry, type Meta, type NewNode, type NodeAttr, type SliceRecord,
} from '../../src/meta/meta.js';

export interface MetaUnderTest {
  meta: Meta;
  /** Open the same volume again, as a restarted process would (the suite closes `meta` first). */
  reopen?: () => Promise<Meta>;
  cleanup(): Promise<void>;
}

export interface MetaFactoryOptions {
  /** trash-days of the new volume; the suite passes 0 unless it tests the trash. */
  trashDays?: number;
}

export type MetaFactory = (options?: MetaFactoryOptions) => Promise<MetaUnderTest>;

const S_IFMT = 0o170000;
const S_IFSOCK = 0o140000;
const S_IFLNK = 0o120000;
const S_IFREG = 0o100000;
const S_IFBLK = 0o060000;
const S_IFDIR = 0o040000;
const S_IFCHR = 0o020000;
const S_IFIFO = 0o010000;
const S_ISVTX = 0o1000;
const RENAME_NOREPLACE = 1;
const RENAME_EXCHANGE = 2;
const XATTR_CREATE = 1;
const XATTR_REPLACE = 2;
const CHUNK = 64 * 1024 * 1024;
const MiB = 1024 * 1024;

const reg = (perm = 0o644, uid = 1000, gid = 1000): NewNode => ({ mode: S_IFREG | perm, uid, gid });
const dirn = (perm = 0o755, uid = 1000, gid = 1000): NewNode => ({ mode: S_IFDIR | perm, uid, gid });
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const charged = (length: number) => Math.ceil(length / 4096) * 4096;

/** The errno code a call fails with, or 'ok'. */
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? code : `non-errno error: ${String(err)}`;
  }
}

/** Every entry of a directory (without '.' and '..'), paging with `limit`. */
async function listAll(meta: Meta, dir: number, limit = 1000): Promise<DirEntry[]> {
  const out: DirEntry[] = [];
  let cookie = 0;
  for (;;) {
    const page = await meta.readdir(dir, cookie, limit);
    if (page.length === 0) break;
    expect(page.length).toBeLessThanOrEqual(limit);
    for (const e of page) {
      expect(e.cookie).toBeGreaterThan(cookie);
      cookie = e.cookie;
      if (e.name !== '.' && e.name !== '..') out.push(e);
    }
  }
  return out;
}

async function namesOf(meta: Meta, dir: number): Promise<string[]> {
  return (await listAll(meta, dir)).map((e) => e.name).sort();
}

/** The '..' entry of a directory. */
async function dotdot(meta: Meta, dir: number): Promise<number> {
  const page = await meta.readdir(dir, 0, 2);
  expect(page.map((e) => e.name)).toEqual(['.', '..']);
  return page[1].ino;
}

/** Store a slice (no objects: metadata only) and commit it; returns the record committed. */
async function write(meta: Meta, ino: number, chunk: number, pos: number, len: number, fileEnd = chunk * CHUNK + pos + len): Promise<SliceRecord> {
  const id = await meta.newSliceId();
  const s: SliceRecord = { id, size: len, pos, off: 0, len };
  await meta.commitSlice(ino, chunk, s, fileEnd);
  return s;
}

async function pendingIds(meta: Meta): Promise<Set<number>> {
  return new Set((await meta.pendingSliceDeletes(100_000)).map((p) => p.id));
}

/** statfs agrees with usage: used blocks and used inodes match the counters. */
async function expectStatfsConsistent(meta: Meta): Promise<void> {
  const [fs, u] = [await meta.statfs(), await meta.usage()];
  expect(fs.bsize).toBeGreaterThan(0);
  expect(fs.bfree).toBeLessThanOrEqual(fs.blocks);
  expect(fs.bavail).toBeLessThanOrEqual(fs.bfree);
  expect(fs.blocks - fs.bfree).toBe(Math.ceil(u.usedBytes / fs.bsize));
  expect(fs.files - fs.ffree).toBe(u.inodes);
}

/** Everything the change log says about one version. */
function rowsOf(entry: ChangeEntry, table: string, kind: 'put' | 'delete'): Record<string, unknown>[] {
  return entry.rows.filter((r) => r.table === table && r.kind === kind).map((r) => r.row);
}

export function metaConformance(name: string, factory: MetaFactory): void {
  /** A fresh volume per test; `v.meta` is the engine the test uses (reopen replaces it). */
  function volume(options: MetaFactoryOptions) {
    const v = {
      sut: undefined as unknown as MetaUnderTest,
      meta: undefined as unknown as Meta,
      opened: [] as Meta[],
      async reopen(): Promise<Meta> {
        if (!v.sut.reopen) throw new Error('no reopen');
        await v.meta.close();
        v.meta = await v.sut.reopen();
        v.opened.push(v.meta);
        return v.meta;
      },
    };
    beforeEach(async () => {
      v.sut = await factory(options);
      v.meta = v.sut.meta;
      v.opened = [v.meta];
    });
    afterEach(async () => {
      for (const m of v.opened) await m.close().catch(() => undefined);
      await v.sut.cleanup();
    });
    return v;
  }

  describe(`Meta conformance: ${name}`, () => {
    describe('a fresh volume', () => {
      const v = volume({ trashDays: 0 });

      it('has the root (inode 1) holding only the trash directory (inode 2)', async () => {
        const { meta } = v;
        const root = await meta.getattr(ROOT_INODE);
        expect(root.ino).toBe(ROOT_INODE);
        expect(root.mode & S_IFMT).toBe(S_IFDIR);
        expect(root.nlink).toBe(3); // '.', '..' of itself, and the trash's '..'
        expect(meta.trashName).toBe(TRASH_NAME);
        const trash = await meta.lookup(ROOT_INODE, TRASH_NAME);
        expect(trash.ino).toBe(TRASH_INODE);
        expect(trash.mode & S_IFMT).toBe(S_IFDIR);
        const page = await meta.readdir(ROOT_INODE, 0, 100);
        expect(page.map((e) => [e.name, e.ino, e.cookie])).toEqual([['.', ROOT_INODE, 1], ['..', ROOT_INODE, 2], [TRASH_NAME, TRASH_INODE, page[2].cookie]]);
        expect(page[2].mode & S_IFMT).toBe(S_IFDIR);
        expect(await dotdot(meta, TRASH_INODE)).toBe(ROOT_INODE);
        expect(await meta.listTrash()).toEqual([]);
        expect((await meta.usage()).usedBytes).toBe(0);
        expect((await meta.usage()).pendingSlices).toBe(0);
        expect(await meta.pendingSliceDeletes(10)).toEqual([]);
        expect(await meta.sessions()).toEqual([]);
        await expectStatfsConsistent(meta);
        const s = await meta.settings();
        expect(s.trashDays).toBe(0);
        expect(typeof s.uuid).toBe('string');
        expect(s.uuid.length).toBeGreaterThan(0);
      });

      it('creates the root 0755 and owned by root, as mkfs does', async () => {
        const root = await v.meta.getattr(ROOT_INODE);
        expect([root.mode & 0o7777, root.uid, root.gid]).toEqual([0o755, 0, 0]);
      });

      it('protects the trash directory from rmdir and rename, RENAME_EXCHANGE from either side included', async () => {
        const { meta } = v;
        expect(await codeOf(meta.rmdir(ROOT_INODE, TRASH_NAME, 0))).toBe('EPERM');
        expect(await codeOf(meta.rename(ROOT_INODE, TRASH_NAME, ROOT_INODE, 'elsewhere', 0, 0))).toBe('EPERM');
        const mine = await meta.mkdir(ROOT_INODE, 'mine', dirn());
        expect(await codeOf(meta.rename(ROOT_INODE, 'mine', ROOT_INODE, TRASH_NAME, RENAME_EXCHANGE, 0))).toBe('EPERM');
        expect(await codeOf(meta.rename(ROOT_INODE, TRASH_NAME, ROOT_INODE, 'mine', RENAME_EXCHANGE, 0))).toBe('EPERM');
        expect((await meta.lookup(ROOT_INODE, 'mine')).ino).toBe(mine.ino);
        await meta.rmdir(ROOT_INODE, 'mine', 0);
        expect((await meta.lookup(ROOT_INODE, TRASH_NAME)).ino).toBe(TRASH_INODE);
        expect(await codeOf(meta.lookup(ROOT_INODE, 'elsewhere'))).toBe('ENOENT');
      });
    });

    describe('namespace', () => {
      const v = volume({ trashDays: 0 });

      it('names that differ only by trailing spaces (or case) are different names', async () => {
        const { meta } = v;
        const a = await meta.mknod(ROOT_INODE, 'pad', reg(0o644, 0, 0));
        const b = await meta.mknod(ROOT_INODE, 'pad ', reg(0o644, 0, 0));
        const c = await meta.mknod(ROOT_INODE, 'Pad', reg(0o644, 0, 0));
        expect(new Set([a.ino, b.ino, c.ino]).size).toBe(3);
        expect((await meta.lookup(ROOT_INODE, 'pad ')).ino).toBe(b.ino);
        expect((await meta.lookup(ROOT_INODE, 'pad')).ino).toBe(a.ino);
        const names = (await meta.readdir(ROOT_INODE, 0, 100)).map((e) => e.name);
        expect(names).toEqual(expect.arrayContaining(['pad', 'pad ', 'Pad']));
        for (const n of ['pad', 'pad ', 'Pad']) await meta.unlink(ROOT_INODE, n, 0, true);
      });

      it('creates every node type; lookup, getattr and readdir agree', async () => {
        const { meta } = v;
        const f = await meta.mknod(ROOT_INODE, 'file', reg(0o640, 11, 12));
        const d = await meta.mkdir(ROOT_INODE, 'dir', dirn(0o750, 13, 14));
        const l = await meta.symlink(ROOT_INODE, 'link', '../some/target', { mode: 0o777, uid: 15, gid: 16 });
        const p = await meta.mknod(ROOT_INODE, 'fifo', { mode: S_IFIFO | 0o600, uid: 17, gid: 18 });
        const c = await meta.mknod(ROOT_INODE, 'chr', { mode: S_IFCHR | 0o620, uid: 0, gid: 5, rdev: (4 << 8) | 7 });
        const b = await meta.mknod(ROOT_INODE, 'blk', { mode: S_IFBLK | 0o660, uid: 0, gid: 6, rdev: (8 << 8) | 1 });
        const s = await meta.mknod(ROOT_INODE, 'sock', { mode: S_IFSOCK | 0o755, uid: 19, gid: 20 });

        const expected: [string, NodeAttr, number, number, number, number][] = [
          ['file', f, S_IFREG | 0o640, 11, 12, 0],
          ['dir', d, S_IFDIR | 0o750, 13, 14, 0],
          ['link', l, S_IFLNK | 0o777, 15, 16, 0],
          ['fifo', p, S_IFIFO | 0o600, 17, 18, 0],
          ['chr', c, S_IFCHR | 0o620, 0, 5, (4 << 8) | 7],
          ['blk', b, S_IFBLK | 0o660, 0, 6, (8 << 8) | 1],
          ['sock', s, S_IFSOCK | 0o755, 19, 20, 0],
        ];
        const inos = new Set<number>();
        for (const [nm, attr, mode, uid, gid, rdev] of expected) {
          expect(attr.mode, nm).toBe(mode);
          expect(attr.uid, nm).toBe(uid);
          expect(attr.gid, nm).toBe(gid);
          expect(attr.rdev, nm).toBe(rdev);
          expect(attr.nlink, nm).toBe((mode & S_IFMT) === S_IFDIR ? 2 : 1);
          expect(typeof attr.mtimeNs, nm).toBe('bigint');
          expect(attr.ctimeNs, nm).toBe(attr.mtimeNs);
          expect(attr.birthtimeNs, nm).toBe(attr.mtimeNs);
          expect(attr.atimeNs, nm).toBe(attr.mtimeNs);
          expect(attr.ino, nm).toBeGreaterThan(TRASH_INODE);
          inos.add(attr.ino);
          expect(await meta.lookup(ROOT_INODE, nm), nm).toEqual(attr);
          expect(await meta.getattr(attr.ino), nm).toEqual(attr);
        }
        expect(inos.size).toBe(expected.length);
        expect(f.size).toBe(0);
        expect(l.size).toBe(Buffer.byteLength('../some/target'));
        expect(await meta.readlink(l.ino)).toBe('../some/target');

        const listed = await listAll(meta, ROOT_INODE);
        expect(listed.map((e) => e.name).sort()).toEqual([TRASH_NAME, ...expected.map((e) => e[0])].sort());
        for (const [nm, attr] of expected) {
          const e = listed.find((x) => x.name === nm)!;
          expect(e.ino, nm).toBe(attr.ino);
          expect(e.mode & S_IFMT, nm).toBe(attr.mode & S_IFMT);
        }
        // The new directory lists '.' and '..' and nothing else.
        const inDir = await meta.readdir(d.ino, 0, 100);
        expect(inDir.map((e) => [e.name, e.ino])).toEqual([['.', d.ino], ['..', ROOT_INODE]]);
        expect((await meta.getattr(ROOT_INODE)).nlink).toBe(4);
      });

      it('updates the parent directory mtime and ctime on create and remove', async () => {
        const { meta } = v;
        const d = await meta.mkdir(ROOT_INODE, 'd', dirn());
        const old = 1_000_000_000_000_000_000n;
        await meta.setattr(d.ino, { mtimeNs: old, atimeNs: old });
        await meta.mknod(d.ino, 'f', reg());
        const afterCreate = await meta.getattr(d.ino);
        expect(afterCreate.mtimeNs).toBeGreaterThan(old);
        expect(afterCreate.ctimeNs).toBeGreaterThan(old);
        await meta.setattr(d.ino, { mtimeNs: old });
        await meta.unlink(d.ino, 'f', 0);
        expect((await meta.getattr(d.ino)).mtimeNs).toBeGreaterThan(old);
      });

      it('keeps nlink right: directories 2 + subdirectories, files one per hard link', async () => {
        const { meta } = v;
        const a = await meta.mkdir(ROOT_INODE, 'a', dirn());
        expect((await meta.getattr(ROOT_INODE)).nlink).toBe(4);
        await meta.mkdir(a.ino, 's1', dirn());
        await meta.mkdir(a.ino, 's2', dirn());
        await meta.mknod(a.ino, 'f', reg());
        await meta.symlink(a.ino, 'l', 'x', reg(0o777));
        expect((await meta.getattr(a.ino)).nlink).toBe(4);
        await meta.rmdir(a.ino, 's1', 0);
        expect((await meta.getattr(a.ino)).nlink).toBe(3);

        const f = await meta.lookup(a.ino, 'f');
        const linked = await meta.link(f.ino, ROOT_INODE, 'f-link');
        expect(linked.ino).toBe(f.ino);
        expect(linked.nlink).toBe(2);
        await meta.link(f.ino, a.ino, 'f2');
        expect((await meta.getattr(f.ino)).nlink).toBe(3);
        expect((await meta.lookup(ROOT_INODE, 'f-link')).nlink).toBe(3);
        // A hard link adds no subdirectory count to the parent.
        expect((await meta.getattr(a.ino)).nlink).toBe(3);
        await meta.unlink(a.ino, 'f', 0);
        expect((await meta.getattr(f.ino)).nlink).toBe(2);
        await meta.unlink(ROOT_INODE, 'f-link', 0);
        const last = await meta.lookup(a.ino, 'f2');
        expect(last.ino).toBe(f.ino);
        expect(last.nlink).toBe(1);
        await meta.unlink(a.ino, 'f2', 0);
        expect(await codeOf(meta.getattr(f.ino))).toBe('ENOENT');

        // Directories cannot be hard-linked; an existing name is EEXIST.
        expect(await codeOf(meta.link(a.ino, ROOT_INODE, 'a-link'))).toBe('EPERM');
        const g = await meta.mknod(ROOT_INODE, 'g', reg());
        expect(await codeOf(meta.link(g.ino, ROOT_INODE, 'a'))).toBe('EEXIST');
        expect(await codeOf(meta.link(g.ino, 999_999, 'x'))).toBe('ENOENT');
        expect(await codeOf(meta.link(g.ino, g.ino, 'x'))).toBe('ENOTDIR');
        expect((await meta.getattr(g.ino)).nlink).toBe(1);
      });

      it('reports EEXIST, ENOENT, ENOTDIR, EISDIR, ENOTEMPTY and EINVAL where POSIX does', async () => {
        const { meta } = v;
        const f = await meta.mknod(ROOT_INODE, 'f', reg());
        const d = await meta.mkdir(ROOT_INODE, 'd', dirn());
        await meta.mknod(d.ino, 'inner', reg());

        // EEXIST: every kind of create over every kind of existing name.
        for (const taken of ['f', 'd', TRASH_NAME]) {
          expect(await codeOf(meta.mknod(ROOT_INODE, taken, reg())), `mknod ${taken}`).toBe('EEXIST');
          expect(await codeOf(meta.mkdir(ROOT_INODE, taken, dirn())), `mkdir ${taken}`).toBe('EEXIST');
          expect(await codeOf(meta.symlink(ROOT_INODE, taken, 't', reg(0o777))), `symlink ${taken}`).toBe('EEXIST');
        }
        // The failed creates changed nothing.
        expect((await meta.lookup(ROOT_INODE, 'f')).ino).toBe(f.ino);
        expect((await meta.lookup(ROOT_INODE, 'd')).ino).toBe(d.ino);

        // ENOENT
        expect(await codeOf(meta.lookup(ROOT_INODE, 'missing'))).toBe('ENOENT');
        expect(await codeOf(meta.getattr(987_654))).toBe('ENOENT');
        expect(await codeOf(meta.mknod(987_654, 'x', reg()))).toBe('ENOENT');
        expect(await codeOf(meta.mkdir(987_654, 'x', dirn()))).toBe('ENOENT');
        expect(await codeOf(meta.unlink(ROOT_INODE, 'missing', 0))).toBe('ENOENT');
        expect(await codeOf(meta.rmdir(ROOT_INODE, 'missing', 0))).toBe('ENOENT');
        expect(await codeOf(meta.rename(ROOT_INODE, 'missing', ROOT_INODE, 'y', 0, 0))).toBe('ENOENT');
        expect(await codeOf(meta.rename(ROOT_INODE, 'f', 987_654, 'y', 0, 0))).toBe('ENOENT');
        expect(await codeOf(meta.setattr(987_654, { mode: 0o600 }))).toBe('ENOENT');
        expect(await codeOf(meta.readdir(987_654, 0, 10))).toBe('ENOENT');
        expect(await codeOf(meta.readlink(987_654))).toBe('ENOENT');
        expect(await codeOf(meta.truncate(987_654, 0))).toBe('ENOENT');

        // ENOTDIR: a file used as a directory.
        expect(await codeOf(meta.lookup(f.ino, 'x'))).toBe('ENOTDIR');
        expect(await codeOf(meta.mknod(f.ino, 'x', reg()))).toBe('ENOTDIR');
        expect(await codeOf(meta.mkdir(f.ino, 'x', dirn()))).toBe('ENOTDIR');
        expect(await codeOf(meta.readdir(f.ino, 0, 10))).toBe('ENOTDIR');
        expect(await codeOf(meta.rmdir(ROOT_INODE, 'f', 0))).toBe('ENOTDIR');
        expect(await codeOf(meta.unlink(f.ino, 'x', 0))).toBe('ENOTDIR');
        expect(await codeOf(meta.rename(ROOT_INODE, 'd', f.ino, 'x', 0, 0))).toBe('ENOTDIR');

        // EISDIR
        expect(await codeOf(meta.unlink(ROOT_INODE, 'd', 0))).toBe('EISDIR');
        expect(await codeOf(meta.truncate(d.ino, 0))).toBe('EISDIR');

        // ENOTEMPTY
        expect(await codeOf(meta.rmdir(ROOT_INODE, 'd', 0))).toBe('ENOTEMPTY');
        expect((await meta.lookup(d.ino, 'inner')).mode & S_IFMT).toBe(S_IFREG);

        // EINVAL: readlink of a non-symlink.
        expect(await codeOf(meta.readlink(f.ino))).toBe('EINVAL');
        expect(await codeOf(meta.readlink(d.ino))).toBe('EINVAL');

        // A removed directory accepts no new entries.
        const gone = await meta.mkdir(ROOT_INODE, 'gone', dirn());
        await meta.rmdir(ROOT_INODE, 'gone', 0);
        expect(await codeOf(meta.mknod(gone.ino, 'x', reg()))).toBe('ENOENT');
        expect(await codeOf(meta.mkdir(gone.ino, 'x', dirn()))).toBe('ENOENT');
        expect(await codeOf(meta.getattr(gone.ino))).toBe('ENOENT');
      });

      it('unlink and rmdir remove the name and free the inode', async () => {
        const { meta } = v;
        const before = await meta.usage();
        const f = await meta.mknod(ROOT_INODE, 'f', reg());
        const d = await meta.mkdir(ROOT_INODE, 'd', dirn());
        const l = await meta.symlink(ROOT_INODE, 'l', 'target', reg(0o777));
        await meta.unlink(ROOT_INODE, 'f', 0);
        await meta.unlink(ROOT_INODE, 'l', 0);
        await meta.rmdir(ROOT_INODE, 'd', 0);
        for (const [nm, ino] of [['f', f.ino], ['d', d.ino], ['l', l.ino]] as const) {
          expect(await codeOf(meta.lookup(ROOT_INODE, nm)), nm).toBe('ENOENT');
          expect(await codeOf(meta.getattr(ino)), nm).toBe('ENOENT');
        }
        expect(await codeOf(meta.readlink(l.ino))).toBe('ENOENT');
        expect(await namesOf(meta, ROOT_INODE)).toEqual([TRASH_NAME]);
        expect((await meta.getattr(ROOT_INODE)).nlink).toBe(3);
        expect((await meta.usage()).inodes).toBe(before.inodes);
        // The name can be used again, by any type.
        expect((await meta.mkdir(ROOT_INODE, 'f', dirn())).mode & S_IFMT).toBe(S_IFDIR);
      });

      it('setattr changes permission bits but never the type; times are exact nanoseconds', async () => {
        const { meta } = v;
        const f = await meta.mknod(ROOT_INODE, 'f', reg(0o644, 1, 1));
        const d = await meta.mkdir(ROOT_INODE, 'd', dirn());
        const changed = await meta.setattr(f.ino, { mode: 0o600 });
        expect(changed.mode).toBe(S_IFREG | 0o600);
        // Type bits in the request are ignored: a file stays a file.
        expect((await meta.setattr(f.ino, { mode: S_IFDIR | 0o4755 })).mode).toBe(S_IFREG | 0o4755);
        expect((await meta.setattr(d.ino, { mode: 0o1777 })).mode).toBe(S_IFDIR | 0o1777);
        expect((await meta.getattr(d.ino)).mode).toBe(S_IFDIR | 0o1777);

        const owner = await meta.setattr(f.ino, { uid: 4242, gid: 4343 });
        expect([owner.uid, owner.gid]).toEqual([4242, 4343]);
        const onlyUid = await meta.setattr(f.ino, { uid: 7 });
        expect([onlyUid.uid, onlyUid.gid]).toEqual([7, 4343]);

        // Nanosecond times beyond 2^53 keep every digit.
        const atime = 1_700_000_000_123_456_789n;
        const mtime = 1_600_000_000_987_654_321n;
        const before = await meta.getattr(f.ino);
        const set = await meta.setattr(f.ino, { atimeNs: atime, mtimeNs: mtime });
        expect(set.atimeNs).toBe(atime);
        expect(set.mtimeNs).toBe(mtime);
        expect(set.ctimeNs).toBeGreaterThanOrEqual(before.ctimeNs);
        expect(set.birthtimeNs).toBe(before.birthtimeNs);
        const got = await meta.getattr(f.ino);
        expect(got.atimeNs).toBe(atime);
        expect(got.mtimeNs).toBe(mtime);
        expect(got.mode).toBe(S_IFREG | 0o4755);
        expect(got).toEqual(set);
        // Only atime: mtime stays.
        const a2 = 1_800_000_000_000_000_001n;
        const got2 = await meta.setattr(f.ino, { atimeNs: a2 });
        expect(got2.atimeNs).toBe(a2);
        expect(got2.mtimeNs).toBe(mtime);
        // Times before 2001 and the epoch itself.
        expect((await meta.setattr(f.ino, { mtimeNs: 0n })).mtimeNs).toBe(0n);
        expect((await meta.getattr(f.ino)).mtimeNs).toBe(0n);
      });

      it('symlinks keep their target byte for byte', async () => {
        const { meta } = v;
        const targets = ['/absolute/path', 'relative/../x', 'ünïcödé/日本語/😀', ' spaced target ', 'x'.repeat(4000)];
        for (const [i, t] of targets.entries()) {
          const l = await meta.symlink(ROOT_INODE, `l${i}`, t, { mode: 0o777, uid: 3, gid: 4 });
          expect(l.mode & S_IFMT).toBe(S_IFLNK);
          expect(l.size).toBe(Buffer.byteLength(t));
          expect(await meta.readlink(l.ino)).toBe(t);
          expect((await meta.lookup(ROOT_INODE, `l${i}`)).ino).toBe(l.ino);
        }
      });

      it('lookupPath walks names in one call and stops at the first missing or non-directory step', async () => {
        const { meta } = v;
        // Deeper than any engine's per-statement step, to cross its batches.
        const names = Array.from({ length: 11 }, (_, i) => `level${i}`);
        const made: NodeAttr[] = [await meta.getattr(ROOT_INODE)];
        for (const n of names) made.push(await meta.mkdir(made[made.length - 1].ino, n, dirn()));
        const leaf = await meta.mknod(made[made.length - 1].ino, 'leaf', reg());
        made.push(leaf);
        const inos = (attrs: NodeAttr[]) => attrs.map((a) => a.ino);

        expect(inos(await meta.lookupPath(ROOT_INODE, []))).toEqual([ROOT_INODE]);
        expect(inos(await meta.lookupPath(ROOT_INODE, [...names, 'leaf']))).toEqual(inos(made));
        for (let k = 1; k <= names.length; k++) {
          expect(inos(await meta.lookupPath(ROOT_INODE, names.slice(0, k))), `depth ${k}`).toEqual(inos(made.slice(0, k + 1)));
          // A missing name ends the walk right there.
          expect(inos(await meta.lookupPath(ROOT_INODE, [...names.slice(0, k), 'missing', 'more'])), `missing at ${k}`)
            .toEqual(inos(made.slice(0, k + 1)));
        }
        // Starting below the root; attributes are whole and current.
        const fromMid = await meta.lookupPath(made[3].ino, names.slice(3));
        expect(inos(fromMid)).toEqual(inos(made.slice(3, names.length + 1)));
        expect(fromMid[fromMid.length - 1]).toEqual(await meta.getattr(made[names.length].ino));
        // Nothing is found inside a file.
        expect(inos(await meta.lookupPath(ROOT_INODE, [...names, 'leaf', 'x', 'y']))).toEqual(inos(made));
        // A removed name is not found.
        await meta.unlink(made[names.length].ino, 'leaf', 0);
        expect(inos(await meta.lookupPath(ROOT_INODE, [...names, 'leaf']))).toEqual(inos(made.slice(0, -1)));
      });

      it('names are bytes: case, unicode and dots are distinct names', async () => {
        const { meta } = v;
        const names = ['a', 'A', 'é', 'e\u0301', '...', '.hidden', 'with space', 'x'.repeat(255)];
        const inos = new Set<number>();
        for (const n of names) inos.add((await meta.mknod(ROOT_INODE, n, reg())).ino);
        expect(inos.size).toBe(names.length);
        expect(await namesOf(meta, ROOT_INODE)).toEqual([TRASH_NAME, ...names].sort());
        for (const n of names) expect(inos.has((await meta.lookup(ROOT_INODE, n)).ino), n).toBe(true);
      });
    });

    describe('rename', () => {
      const v = volume({ trashDays: 0 });

      it('moves a file within and across directories, keeping its inode', async () => {
        const { meta } = v;
        const a = await meta.mkdir(ROOT_INODE, 'a', dirn());
        const b = await meta.mkdir(ROOT_INODE, 'b', dirn());
        const f = await meta.mknod(a.ino, 'f', reg());
        await meta.rename(a.ino, 'f', a.ino, 'g', 0, 1000);
        expect(await codeOf(meta.lookup(a.ino, 'f'))).toBe('ENOENT');
        expect((await meta.lookup(a.ino, 'g')).ino).toBe(f.ino);
        await meta.rename(a.ino, 'g', b.ino, 'h', 0, 1000);
        expect(await namesOf(meta, a.ino)).toEqual([]);
        expect(await namesOf(meta, b.ino)).toEqual(['h']);
        const h = await meta.lookup(b.ino, 'h');
        expect(h.ino).toBe(f.ino);
        expect(h.nlink).toBe(1);
        expect((await meta.getattr(a.ino)).nlink).toBe(2);
        expect((await meta.getattr(b.ino)).nlink).toBe(2);
      });

      it('moves a directory across parents: nlink of both parents and its ".." follow', async () => {
        const { meta } = v;
        const a = await meta.mkdir(ROOT_INODE, 'a', dirn());
        const b = await meta.mkdir(ROOT_INODE, 'b', dirn());
        const sub = await meta.mkdir(a.ino, 'sub', dirn());
        await meta.mknod(sub.ino, 'inner', reg());
        expect((await meta.getattr(a.ino)).nlink).toBe(3);
        await meta.rename(a.ino, 'sub', b.ino, 'moved', 0, 0);
        expect((await meta.getattr(a.ino)).nlink).toBe(2);
        expect((await meta.getattr(b.ino)).nlink).toBe(3);
        expect((await meta.getattr(sub.ino)).nlink).toBe(2);
        expect(await dotdot(meta, sub.ino)).toBe(b.ino);
        expect((await meta.lookup(b.ino, 'moved')).ino).toBe(sub.ino);
        expect(await namesOf(meta, sub.ino)).toEqual(['inner']);
        // And a rename within the same parent leaves the counts alone.
        await meta.rename(b.ino, 'moved', b.ino, 'again', 0, 0);
        expect((await meta.getattr(b.ino)).nlink).toBe(3);
        expect(await dotdot(meta, sub.ino)).toBe(b.ino);
      });

      it('replaces an existing file: the replaced inode loses that name', async () => {
        const { meta } = v;
        const src = await meta.mknod(ROOT_INODE, 'src', reg());
        const dst = await meta.mknod(ROOT_INODE, 'dst', reg());
        await meta.rename(ROOT_INODE, 'src', ROOT_INODE, 'dst', 0, 0);
        expect((await meta.lookup(ROOT_INODE, 'dst')).ino).toBe(src.ino);
        expect(await codeOf(meta.lookup(ROOT_INODE, 'src'))).toBe('ENOENT');
        expect(await codeOf(meta.getattr(dst.ino))).toBe('ENOENT');

        // A replaced file with another hard link survives with one link fewer.
        const other = await meta.mknod(ROOT_INODE, 'other', reg());
        await meta.link(other.ino, ROOT_INODE, 'other-link');
        const s2 = await meta.mknod(ROOT_INODE, 's2', reg());
        await meta.rename(ROOT_INODE, 's2', ROOT_INODE, 'other', 0, 0);
        expect((await meta.lookup(ROOT_INODE, 'other')).ino).toBe(s2.ino);
        const survivor = await meta.lookup(ROOT_INODE, 'other-link');
        expect(survivor.ino).toBe(other.ino);
        expect(survivor.nlink).toBe(1);
      });

      it('replaces an empty directory, refuses a non-empty one (ENOTEMPTY)', async () => {
        const { meta } = v;
        const a = await meta.mkdir(ROOT_INODE, 'a', dirn());
        const b = await meta.mkdir(ROOT_INODE, 'b', dirn());
        const x = await meta.mkdir(a.ino, 'x', dirn());
        const y = await meta.mkdir(b.ino, 'y', dirn());
        await meta.rename(a.ino, 'x', b.ino, 'y', 0, 0);
        expect((await meta.lookup(b.ino, 'y')).ino).toBe(x.ino);
        expect(await codeOf(meta.getattr(y.ino))).toBe('ENOENT');
        expect((await meta.getattr(a.ino)).nlink).toBe(2);
        expect((await meta.getattr(b.ino)).nlink).toBe(3);
        expect(await dotdot(meta, x.ino)).toBe(b.ino);

        // Same parent: the parent loses one subdirectory.
        await meta.mkdir(ROOT_INODE, 'p', dirn());
        const q = await meta.mkdir(ROOT_INODE, 'q', dirn());
        const rootLinks = (await meta.getattr(ROOT_INODE)).nlink;
        await meta.rename(ROOT_INODE, 'q', ROOT_INODE, 'p', 0, 0);
        expect((await meta.getattr(ROOT_INODE)).nlink).toBe(rootLinks - 1);
        expect((await meta.lookup(ROOT_INODE, 'p')).ino).toBe(q.ino);

        // Non-empty target: nothing moves.
        const full = await meta.mkdir(ROOT_INODE, 'full', dirn());
        await meta.mknod(full.ino, 'content', reg());
        expect(await codeOf(meta.rename(ROOT_INODE, 'a', ROOT_INODE, 'full', 0, 0))).toBe('ENOTEMPTY');
        expect((await meta.lookup(ROOT_INODE, 'a')).ino).toBe(a.ino);
        expect((await meta.lookup(ROOT_INODE, 'full')).ino).toBe(full.ino);
        expect(await namesOf(meta, full.ino)).toEqual(['content']);
      });

      it('refuses to mix types: directory over file is ENOTDIR, file over directory is EISDIR', async () => {
        const { meta } = v;
        const d = await meta.mkdir(ROOT_INODE, 'd', dirn());
        const f = await meta.mknod(ROOT_INODE, 'f', reg());
        expect(await codeOf(meta.rename(ROOT_INODE, 'd', ROOT_INODE, 'f', 0, 0))).toBe('ENOTDIR');
        expect(await codeOf(meta.rename(ROOT_INODE, 'f', ROOT_INODE, 'd', 0, 0))).toBe('EISDIR');
        expect((await meta.lookup(ROOT_INODE, 'd')).ino).toBe(d.ino);
        expect((await meta.lookup(ROOT_INODE, 'f')).ino).toBe(f.ino);
      });

      it('RENAME_NOREPLACE fails with EEXIST on an existing name and works otherwise', async () => {
        const { meta } = v;
        const a = await meta.mknod(ROOT_INODE, 'a', reg());
        const b = await meta.mknod(ROOT_INODE, 'b', reg());
        expect(await codeOf(meta.rename(ROOT_INODE, 'a', ROOT_INODE, 'b', RENAME_NOREPLACE, 0))).toBe('EEXIST');
        expect((await meta.lookup(ROOT_INODE, 'a')).ino).toBe(a.ino);
        expect((await meta.lookup(ROOT_INODE, 'b')).ino).toBe(b.ino);
        await meta.rename(ROOT_INODE, 'a', ROOT_INODE, 'c', RENAME_NOREPLACE, 0);
        expect((await meta.lookup(ROOT_INODE, 'c')).ino).toBe(a.ino);
        expect(await codeOf(meta.lookup(ROOT_INODE, 'a'))).toBe('ENOENT');
      });

      it('RENAME_EXCHANGE swaps two names atomically, and needs both to exist', async () => {
        const { meta } = v;
        const a = await meta.mknod(ROOT_INODE, 'a', reg());
        const b = await meta.symlink(ROOT_INODE, 'b', 'tgt', reg(0o777));
        await meta.rename(ROOT_INODE, 'a', ROOT_INODE, 'b', RENAME_EXCHANGE, 0);
        expect((await meta.lookup(ROOT_INODE, 'a')).ino).toBe(b.ino);
        expect((await meta.lookup(ROOT_INODE, 'b')).ino).toBe(a.ino);
        const listed = await listAll(meta, ROOT_INODE);
        expect(listed.find((e) => e.name === 'a')!.mode & S_IFMT).toBe(S_IFLNK);
        expect(listed.find((e) => e.name === 'b')!.mode & S_IFMT).toBe(S_IFREG);
        expect(await codeOf(meta.rename(ROOT_INODE, 'a', ROOT_INODE, 'nothing', RENAME_EXCHANGE, 0))).toBe('ENOENT');
        expect((await meta.lookup(ROOT_INODE, 'a')).ino).toBe(b.ino);
        expect(await codeOf(meta.lookup(ROOT_INODE, 'nothing'))).toBe('ENOENT');
      });

      it('RENAME_EXCHANGE of a directory and a file across parents fixes nlink and ".."', async () => {
        const { meta } = v;
        const p1 = await meta.mkdir(ROOT_INODE, 'p1', dirn());
        const p2 = await meta.mkdir(ROOT_INODE, 'p2', dirn());
        const sub = await meta.mkdir(p1.ino, 'sub', dirn());
        await meta.mknod(sub.ino, 'inner', reg());
        const f = await meta.mknod(p2.ino, 'f', reg());
        expect((await meta.getattr(p1.ino)).nlink).toBe(3);
        expect((await meta.getattr(p2.ino)).nlink).toBe(2);

        await meta.rename(p1.ino, 'sub', p2.ino, 'f', RENAME_EXCHANGE, 0);
        const atP1 = await meta.lookup(p1.ino, 'sub');
        const atP2 = await meta.lookup(p2.ino, 'f');
        expect(atP1.ino).toBe(f.ino);
        expect(atP1.mode & S_IFMT).toBe(S_IFREG);
        expect(atP2.ino).toBe(sub.ino);
        expect(atP2.mode & S_IFMT).toBe(S_IFDIR);
        expect((await meta.getattr(p1.ino)).nlink).toBe(2);
        expect((await meta.getattr(p2.ino)).nlink).toBe(3);
        expect(await dotdot(meta, sub.ino)).toBe(p2.ino);
        expect(await namesOf(meta, sub.ino)).toEqual(['inner']);
        expect((await listAll(meta, p1.ino))[0].mode & S_IFMT).toBe(S_IFREG);
        expect((await listAll(meta, p2.ino))[0].mode & S_IFMT).toBe(S_IFDIR);
        // p1 is now removable only after its file goes; p2 only after the directory goes.
        expect(await codeOf(meta.rmdir(p2.ino, 'f', 0))).toBe('ENOTEMPTY');
        await meta.unlink(sub.ino, 'inner', 0);
        await meta.rmdir(p2.ino, 'f', 0);
        expect((await meta.getattr(p2.ino)).nlink).toBe(2);

        // Two directories exchanged across parents: counts stay.
        const d1 = await meta.mkdir(p1.ino, 'd1', dirn());
        const d2 = await meta.mkdir(p2.ino, 'd2', dirn());
        await meta.rename(p1.ino, 'd1', p2.ino, 'd2', RENAME_EXCHANGE, 0);
        expect((await meta.getattr(p1.ino)).nlink).toBe(3);
        expect((await meta.getattr(p2.ino)).nlink).toBe(3);
        expect(await dotdot(meta, d1.ino)).toBe(p2.ino);
        expect(await dotdot(meta, d2.ino)).toBe(p1.ino);
      });

      it('refuses to move a directory into its own subtree (EINVAL)', async () => {
        const { meta } = v;
        const a = await meta.mkdir(ROOT_INODE, 'a', dirn());
        const b = await meta.mkdir(a.ino, 'b', dirn());
        const c = await meta.mkdir(b.ino, 'c', dirn());
        expect(await codeOf(meta.rename(ROOT_INODE, 'a', a.ino, 'x', 0, 0))).toBe('EINVAL');
        expect(await codeOf(meta.rename(ROOT_INODE, 'a', b.ino, 'x', 0, 0))).toBe('EINVAL');
        expect(await codeOf(meta.rename(ROOT_INODE, 'a', c.ino, 'x', 0, 0))).toBe('EINVAL');
        expect(await codeOf(meta.rename(a.ino, 'b', c.ino, 'x', RENAME_NOREPLACE, 0))).toBe('EINVAL');
        // Exchanging a directory with one of its own descendants.
        expect(await codeOf(meta.rename(ROOT_INODE, 'a', b.ino, 'c', RENAME_EXCHANGE, 0))).toBe('EINVAL');
        expect(await codeOf(meta.rename(b.ino, 'c', ROOT_INODE, 'a', RENAME_EXCHANGE, 0))).toBe('EINVAL');
        expect((await meta.lookup(ROOT_INODE, 'a')).ino).toBe(a.ino);
        expect((await meta.lookup(a.ino, 'b')).ino).toBe(b.ino);
        expect((await meta.lookup(b.ino, 'c')).ino).toBe(c.ino);
        expect(await namesOf(meta, c.ino)).toEqual([]);
        // Moving a directory up, out of its parent, is fine.
        await meta.rename(b.ino, 'c', ROOT_INODE, 'c', 0, 0);
        expect(await dotdot(meta, c.ino)).toBe(ROOT_INODE);
      });

      it('renaming a name onto itself or onto another link of the same inode changes nothing', async () => {
        const { meta } = v;
        const f = await meta.mknod(ROOT_INODE, 'f', reg());
        await meta.link(f.ino, ROOT_INODE, 'g');
        const d = await meta.mkdir(ROOT_INODE, 'd', dirn());
        const v0 = await meta.version();
        await meta.rename(ROOT_INODE, 'f', ROOT_INODE, 'f', 0, 0);
        await meta.rename(ROOT_INODE, 'd', ROOT_INODE, 'd', 0, 0);
        await meta.rename(ROOT_INODE, 'f', ROOT_INODE, 'g', 0, 0);
        expect((await meta.lookup(ROOT_INODE, 'f')).ino).toBe(f.ino);
        expect((await meta.lookup(ROOT_INODE, 'g')).ino).toBe(f.ino);
        expect((await meta.getattr(f.ino)).nlink).toBe(2);
        expect((await meta.lookup(ROOT_INODE, 'd')).ino).toBe(d.ino);
        expect(await meta.version()).toBe(v0);
      });

      it('honours the sticky bit with the caller uid (EPERM for other users)', async () => {
        const { meta } = v;
        const tmp = await meta.mkdir(ROOT_INODE, 'tmp', { mode: S_IFDIR | S_ISVTX | 0o777, uid: 100, gid: 100 });
        expect(tmp.mode & S_ISVTX).toBe(S_ISVTX);
        const f = await meta.mknod(tmp.ino, 'f', reg(0o666, 200, 200));
        await meta.mknod(ROOT_INODE, 'mine', reg(0o644, 300, 300));
        await meta.mkdir(tmp.ino, 'sd', dirn(0o777, 200, 200));

        expect(await codeOf(meta.unlink(tmp.ino, 'f', 300))).toBe('EPERM');
        expect(await codeOf(meta.rename(tmp.ino, 'f', ROOT_INODE, 'stolen', 0, 300))).toBe('EPERM');
        // Replacing someone else's file in a sticky directory is a deletion too.
        expect(await codeOf(meta.rename(ROOT_INODE, 'mine', tmp.ino, 'f', 0, 300))).toBe('EPERM');
        expect(await codeOf(meta.rmdir(tmp.ino, 'sd', 300))).toBe('EPERM');
        expect((await meta.lookup(tmp.ino, 'f')).ino).toBe(f.ino);
        expect((await meta.lookup(ROOT_INODE, 'mine')).uid).toBe(300);
        expect(await namesOf(meta, tmp.ino)).toEqual(['f', 'sd']);

        // The file's owner, the directory's owner and root may.
        await meta.rename(tmp.ino, 'f', tmp.ino, 'f2', 0, 200);
        await meta.rmdir(tmp.ino, 'sd', 100);
        await meta.rename(tmp.ino, 'f2', tmp.ino, 'f3', 0, 0);
        await meta.unlink(tmp.ino, 'f3', 200);
        expect(await namesOf(meta, tmp.ino)).toEqual([]);

        // Without the sticky bit the uid plays no part (permissions are the vfs's job).
        const open = await meta.mkdir(ROOT_INODE, 'open', dirn(0o777, 100, 100));
        await meta.mknod(open.ino, 'x', reg(0o644, 200, 200));
        await meta.unlink(open.ino, 'x', 300);
        expect(await namesOf(meta, open.ino)).toEqual([]);
      });
    });

    describe('readdir', () => {
      const v = volume({ trashDays: 0 });

      it('pages with small limits: every entry exactly once, cookies increasing, "." and ".." first', async () => {
        const { meta } = v;
        const d = await meta.mkdir(ROOT_INODE, 'd', dirn());
        const names = Array.from({ length: 37 }, (_, i) => `e${String(i).padStart(2, '0')}`);
        for (const n of names) await meta.mknod(d.ino, n, reg());
        for (const limit of [1, 2, 3, 7, 100]) {
          const seen: DirEntry[] = [];
          let cookie = 0;
          for (let guard = 0; guard < 1000; guard++) {
            const page = await meta.readdir(d.ino, cookie, limit);
            if (page.length === 0) break;
            expect(page.length).toBeLessThanOrEqual(limit);
            for (const e of page) {
              expect(e.cookie).toBeGreaterThan(cookie);
              cookie = e.cookie;
            }
            seen.push(...page);
          }
          expect(seen.slice(0, 2).map((e) => [e.name, e.ino, e.cookie]), `limit ${limit}`).toEqual([['.', d.ino, 1], ['..', ROOT_INODE, 2]]);
          const rest = seen.slice(2).map((e) => e.name);
          expect(rest.slice().sort(), `limit ${limit}`).toEqual(names);
          expect(new Set(rest).size).toBe(rest.length);
        }
        // Reading past the end is empty, not an error.
        const all = await meta.readdir(d.ino, 0, 1000);
        expect(await meta.readdir(d.ino, all[all.length - 1].cookie, 10)).toEqual([]);
      });

      it('lists every entry that stays exactly once while others are added and removed between pages', async () => {
        const { meta } = v;
        const d = await meta.mkdir(ROOT_INODE, 'd', dirn());
        const originals = Array.from({ length: 60 }, (_, i) => `o${String(i).padStart(2, '0')}`);
        for (const n of originals) await meta.mknod(d.ino, n, reg());
        const present = new Set(originals);
        const removedUnseen = new Set<string>();
        const seenCount = new Map<string, number>();
        let cookie = 0;
        let round = 0;
        for (let guard = 0; guard < 1000; guard++) {
          const page = await meta.readdir(d.ino, cookie, 3);
          if (page.length === 0) break;
          for (const e of page) {
            expect(e.cookie).toBeGreaterThan(cookie);
            cookie = e.cookie;
            if (e.name === '.' || e.name === '..') continue;
            expect(present.has(e.name), `${e.name} listed while not present`).toBe(true);
            seenCount.set(e.name, (seenCount.get(e.name) ?? 0) + 1);
          }
          round++;
          // Between pages: add a new entry, remove one not yet listed, remove one already listed,
          // and re-create a name that was listed earlier (it is a new entry: may appear once more).
          await meta.mknod(d.ino, `new${round}`, reg());
          present.add(`new${round}`);
          const unseen = [...present].filter((n) => n.startsWith('o') && !seenCount.has(n)).sort();
          if (unseen.length > 1) {
            const victim = unseen[unseen.length - 1];
            await meta.unlink(d.ino, victim, 0);
            present.delete(victim);
            removedUnseen.add(victim);
          }
          const seenOriginal = [...seenCount.keys()].filter((n) => n.startsWith('o') && present.has(n)).sort();
          if (seenOriginal.length > 0 && round % 2 === 0) {
            await meta.unlink(d.ino, seenOriginal[0], 0);
            present.delete(seenOriginal[0]);
          }
        }
        for (const n of originals) {
          if (removedUnseen.has(n)) expect(seenCount.get(n), `${n} was removed before being listed`).toBeUndefined();
          else expect(seenCount.get(n), `${n} listed once`).toBe(1);
        }
        for (const [n, count] of seenCount) expect(count, `${n} listed at most once`).toBe(1);
        expect(removedUnseen.size).toBeGreaterThan(5);
        // A fresh listing shows exactly what is there now.
        expect(await namesOf(meta, d.ino)).toEqual([...present].sort());
      });

      it('resumes after a cookie even when that entry has since been removed', async () => {
        const { meta } = v;
        const d = await meta.mkdir(ROOT_INODE, 'd', dirn());
        for (let i = 0; i < 20; i++) await meta.mknod(d.ino, `f${i}`, reg());
        const full = await meta.readdir(d.ino, 0, 1000);
        const at = full[8];
        await meta.unlink(d.ino, at.name, 0);
        await meta.unlink(d.ino, full[7].name, 0);
        const rest = await meta.readdir(d.ino, at.cookie, 1000);
        expect(rest.map((e) => e.name)).toEqual(full.slice(9).map((e) => e.name));
        expect(rest.map((e) => e.cookie)).toEqual(full.slice(9).map((e) => e.cookie));
        // A new entry gets a cookie never handed out before in this directory.
        const added = await meta.mknod(d.ino, 'late', reg());
        const again = await listAll(meta, d.ino);
        const late = again.find((e) => e.name === 'late')!;
        expect(late.ino).toBe(added.ino);
        expect(full.some((e) => e.cookie === late.cookie)).toBe(false);
        // Resuming from the cookie of '..' lists every entry.
        expect((await meta.readdir(d.ino, 2, 1000)).map((e) => e.name).sort()).toEqual(again.map((e) => e.name).sort());
      });
    });

    describe('xattrs', () => {
      const v = volume({ trashDays: 0 });

      it('sets, replaces, lists and removes, with XATTR_CREATE/XATTR_REPLACE semantics', async () => {
        const { meta } = v;
        const f = await meta.mknod(ROOT_INODE, 'f', reg());
        const d = await meta.mkdir(ROOT_INODE, 'd', dirn());
        const bin = new Uint8Array([0, 1, 2, 255, 0, 128]);
        await meta.setxattr(f.ino, 'user.bin', bin, 0);
        await meta.setxattr(f.ino, 'user.empty', new Uint8Array(0), XATTR_CREATE);
        await meta.setxattr(f.ino, 'user.text', Buffer.from('hello'), 0);
        await meta.setxattr(d.ino, 'user.text', Buffer.from('dir'), 0);
        expect(Buffer.from(await meta.getxattr(f.ino, 'user.bin'))).toEqual(Buffer.from(bin));
        expect((await meta.getxattr(f.ino, 'user.empty')).length).toBe(0);
        expect(Buffer.from(await meta.getxattr(d.ino, 'user.text')).toString()).toBe('dir');
        expect((await meta.listxattr(f.ino)).slice().sort()).toEqual(['user.bin', 'user.empty', 'user.text']);
        expect(await meta.listxattr(d.ino)).toEqual(['user.text']);

        expect(await codeOf(meta.setxattr(f.ino, 'user.text', Buffer.from('x'), XATTR_CREATE))).toBe('EEXIST');
        expect(Buffer.from(await meta.getxattr(f.ino, 'user.text')).toString()).toBe('hello');
        expect(await codeOf(meta.setxattr(f.ino, 'user.none', Buffer.from('x'), XATTR_REPLACE))).toBe('ENODATA');
        expect(await codeOf(meta.getxattr(f.ino, 'user.none'))).toBe('ENODATA');
        await meta.setxattr(f.ino, 'user.text', Buffer.from('replaced'), XATTR_REPLACE);
        expect(Buffer.from(await meta.getxattr(f.ino, 'user.text')).toString()).toBe('replaced');
        await meta.setxattr(f.ino, 'user.text', Buffer.from('again'), 0);
        expect(Buffer.from(await meta.getxattr(f.ino, 'user.text')).toString()).toBe('again');

        const big = Buffer.alloc(64 * 1024, 7);
        await meta.setxattr(f.ino, 'user.big', big, 0);
        expect(Buffer.from(await meta.getxattr(f.ino, 'user.big')).equals(big)).toBe(true);

        await meta.removexattr(f.ino, 'user.bin');
        expect(await codeOf(meta.getxattr(f.ino, 'user.bin'))).toBe('ENODATA');
        expect(await codeOf(meta.removexattr(f.ino, 'user.bin'))).toBe('ENODATA');
        expect((await meta.listxattr(f.ino)).slice().sort()).toEqual(['user.big', 'user.empty', 'user.text']);

        expect(await codeOf(meta.getxattr(987_654, 'user.x'))).toBe('ENOENT');
        expect(await codeOf(meta.setxattr(987_654, 'user.x', bin, 0))).toBe('ENOENT');
        expect(await codeOf(meta.listxattr(987_654))).toBe('ENOENT');
        expect(await codeOf(meta.removexattr(987_654, 'user.x'))).toBe('ENOENT');

        // xattrs belong to the inode: seen through every hard link, gone with the inode.
        await meta.link(f.ino, ROOT_INODE, 'f2');
        expect((await meta.listxattr((await meta.lookup(ROOT_INODE, 'f2')).ino)).length).toBe(3);
        await meta.unlink(ROOT_INODE, 'f', 0);
        await meta.unlink(ROOT_INODE, 'f2', 0);
        expect(await codeOf(meta.listxattr(f.ino))).toBe('ENOENT');
        const fresh = await meta.mknod(ROOT_INODE, 'fresh', reg());
        expect(await meta.listxattr(fresh.ino)).toEqual([]);
      });
    });

    describe('slices and data layout', () => {
      const v = volume({ trashDays: 0 });

      it('newSliceId hands out unique, nonzero ids', async () => {
        const { meta } = v;
        const ids = await Promise.all(Array.from({ length: 300 }, () => meta.newSliceId()));
        for (let i = 0; i < 200; i++) ids.push(await meta.newSliceId());
        expect(ids.every((id) => Number.isSafeInteger(id) && id > 0)).toBe(true);
        expect(new Set(ids).size).toBe(ids.length);
      });

      it('readChunk returns committed slices in commit order; fileEnd extends the length', async () => {
        const { meta } = v;
        const f = await meta.mknod(ROOT_INODE, 'f', reg());
        expect(await meta.readChunk(f.ino, 0)).toEqual([]);
        expect(await meta.chunks(f.ino)).toEqual([]);
        const s1 = await write(meta, f.ino, 0, 0, 1000);
        expect((await meta.getattr(f.ino)).size).toBe(1000);
        const s2 = await write(meta, f.ino, 0, 500, 100);
        expect((await meta.getattr(f.ino)).size).toBe(1000); // fileEnd below the length leaves it
        // A slice showing part of a stored slice (off > 0).
        const id3 = await meta.newSliceId();
        const s3: SliceRecord = { id: id3, size: 4096, pos: 2000, off: 96, len: 4000 };
        await meta.commitSlice(f.ino, 0, s3, 6000);
        expect((await meta.getattr(f.ino)).size).toBe(6000);
        const s4 = await write(meta, f.ino, 2, 10, 20);
        expect((await meta.getattr(f.ino)).size).toBe(2 * CHUNK + 30);
        expect(await meta.readChunk(f.ino, 0)).toEqual([s1, s2, s3]);
        expect(await meta.readChunk(f.ino, 1)).toEqual([]);
        expect(await meta.readChunk(f.ino, 2)).toEqual([s4]);
        expect(await meta.chunks(f.ino)).toEqual([{ index: 0, slices: [s1, s2, s3] }, { index: 2, slices: [s4] }]);
        // mtime moves with a write.
        await meta.setattr(f.ino, { mtimeNs: 5n });
        await write(meta, f.ino, 0, 0, 1);
        expect((await meta.getattr(f.ino)).mtimeNs).toBeGreaterThan(5n);
        expect(await codeOf(meta.commitSlice(987_654, 0, { id: await meta.newSliceId(), size: 1, pos: 0, off: 0, len: 1 }, 1))).toBe('ENOENT');
      });

      it('a truncate that shrinks hides the cut data behind a hole and drops the chunks beyond', async () => {
        const { meta } = v;
        const f = await meta.mknod(ROOT_INODE, 'f', reg());
        const keep = await write(meta, f.ino, 0, 0, 1 * MiB);
        const c1 = await write(meta, f.ino, 1, 0, 2 * MiB);
        const c3 = await write(meta, f.ino, 3, 5, 100);
        expect((await meta.getattr(f.ino)).size).toBe(3 * CHUNK + 105);
        expect((await pendingIds(meta)).size).toBe(0);

        const attr = await meta.truncate(f.ino, 1000);
        expect(attr.size).toBe(1000);
        expect((await meta.getattr(f.ino)).size).toBe(1000);
        expect(await meta.readChunk(f.ino, 1)).toEqual([]);
        expect(await meta.readChunk(f.ino, 3)).toEqual([]);
        const chunk0 = await meta.readChunk(f.ino, 0);
        expect(chunk0[0]).toEqual(keep);
        const hole = chunk0[chunk0.length - 1];
        expect(hole.id).toBe(0);
        // The hole covers at least the bytes past the new end that the kept slice still holds.
        expect(hole.pos).toBeLessThanOrEqual(1000);
        expect(hole.pos + hole.len).toBeGreaterThanOrEqual(1 * MiB);
        expect((await meta.chunks(f.ino)).map((c) => c.index)).toEqual([0]);
        const pending = await pendingIds(meta);
        expect(pending).toEqual(new Set([c1.id, c3.id]));
        expect(pending.has(keep.id)).toBe(false);
        expect((await meta.usage()).pendingSlices).toBe(2);

        // Growing again: the cut bytes stay hidden (the hole is still the newest slice over them).
        await meta.truncate(f.ino, 3 * MiB);
        expect((await meta.getattr(f.ino)).size).toBe(3 * MiB);
        const grown = await meta.readChunk(f.ino, 0);
        expect(grown.slice(0, chunk0.length)).toEqual(chunk0);
        for (const s of grown.slice(chunk0.length)) expect(s.id).toBe(0);

        // Truncate to zero: nothing of the file is referenced any more.
        await meta.truncate(f.ino, 0);
        expect(await meta.chunks(f.ino)).toEqual([]);
        expect(await pendingIds(meta)).toEqual(new Set([c1.id, c3.id, keep.id]));
        expect(await codeOf(meta.truncate(f.ino, -1))).toBe('EINVAL');
      });

      it('a slice shared by two files becomes pending only when its last reference goes', async () => {
        const { meta } = v;
        const a = await meta.mknod(ROOT_INODE, 'a', reg());
        const b = await meta.mknod(ROOT_INODE, 'b', reg());
        const s = await write(meta, a.ino, 0, 0, 4096);
        await meta.commitSlice(b.ino, 0, s, 4096); // b shares a's slice (as a copy does)
        expect(await meta.readChunk(b.ino, 0)).toEqual([s]);
        await meta.unlink(ROOT_INODE, 'a', 0);
        expect((await pendingIds(meta)).has(s.id)).toBe(false);
        expect(await meta.readChunk(b.ino, 0)).toEqual([s]);
        await meta.unlink(ROOT_INODE, 'b', 0);
        expect((await pendingIds(meta)).has(s.id)).toBe(true);
      });

      it('compactChunk swaps a chunk\'s oldest slices for one that shows the same bytes, keeps later slices on top, and changes nothing when the chunk moved on', async () => {
        const { meta } = v;
        const f = await meta.mknod(ROOT_INODE, 'compact-me', reg());
        const a = await write(meta, f.ino, 0, 0, 1000);
        const b = await write(meta, f.ino, 0, 500, 1000);
        const gap = await write(meta, f.ino, 0, 3000, 100);
        const before = await meta.readChunk(f.ino, 0);
        const id = await meta.newSliceId();
        // Bytes 0..1500 and 3000..3100 are data: one slice of 1600 bytes shown as two pieces.
        const pieces = [{ id, size: 1600, pos: 0, off: 0, len: 1500 }, { id, size: 1600, pos: 3000, off: 1500, len: 100 }];
        // Malformed replacements are refused before anything changes.
        expect(await codeOf(meta.compactChunk(f.ino, 0, before, [{ ...pieces[0], len: 1400 }, { ...pieces[1], off: 1400 }]))).toBe('EINVAL');
        expect(await codeOf(meta.compactChunk(f.ino, 0, before, [pieces[1], pieces[0]]))).toBe('EINVAL');
        expect(await codeOf(meta.compactChunk(f.ino, 0, before, []))).toBe('EINVAL');
        // A view the chunk does not start with (read before something changed it) is refused.
        expect(await meta.compactChunk(f.ino, 0, [b, a], [{ id, size: 1500, pos: 0, off: 0, len: 1500 }])).toBeNull();
        expect(await meta.readChunk(f.ino, 0)).toEqual(before);

        const top = await write(meta, f.ino, 0, 200, 10); // written after the compactor read the chunk
        const attr = await meta.getattr(f.ino);
        const v0 = await meta.version();
        const released = await meta.compactChunk(f.ino, 0, before, pieces);
        expect(new Set(released!.map((s) => s.id))).toEqual(new Set([a.id, b.id, gap.id]));
        expect(await meta.version()).toBeGreaterThan(v0);
        expect(await meta.readChunk(f.ino, 0)).toEqual([...pieces, top]);
        // What a file shows does not change: not its size, stored bytes or times.
        expect(await meta.getattr(f.ino)).toEqual(attr);
        const pending = await pendingIds(meta);
        for (const s of [a, b, gap]) expect(pending.has(s.id)).toBe(true);
        expect((await meta.knownSlices(id - 1, 1))[0]).toEqual({ id, size: 1600, refs: 2, pendingSinceMs: null });
        // A shared slice keeps its other reference.
        const other = await meta.mknod(ROOT_INODE, 'compact-shared', reg());
        const s1 = await write(meta, other.ino, 0, 0, 100);
        const copy = await meta.mknod(ROOT_INODE, 'compact-copy', reg());
        await meta.cloneRanges(copy.ino, [{ src: other.ino, srcOffset: 0, dstOffset: 0, length: 100 }]);
        const s2 = await write(meta, other.ino, 0, 50, 100);
        const id2 = await meta.newSliceId();
        expect(await meta.compactChunk(other.ino, 0, [s1, s2], [{ id: id2, size: 150, pos: 0, off: 0, len: 150 }])).toEqual([{ id: s2.id, size: 100 }]);
        expect((await meta.knownSlices(s1.id - 1, 1))[0].refs).toBe(1);
        // A slice already given up cannot be the replacement.
        const given = await meta.newSliceId();
        await meta.abandonSlice({ id: given, size: 160 });
        const now = await meta.readChunk(other.ino, 0);
        expect(await codeOf(meta.compactChunk(other.ino, 0, now, [{ id: given, size: 150, pos: 0, off: 0, len: 150 }]))).toBe('EIO');
      });

      it('attachObject makes an empty file parts of an object; the slices name it, the last reference drops them without queueing the object, a file not empty is refused', async () => {
        const { meta } = v;
        const f = await meta.mknod(ROOT_INODE, 'linked', reg());
        const CH = 64 * 1024 * 1024;
        const parts = [
          { id: await meta.newSliceId(), object: 'data/big file', off: 0, size: CH, etag: 'e1' },
          { id: await meta.newSliceId(), object: 'data/big file', off: CH, size: 1000, etag: 'e1' },
        ];
        const v0 = await meta.version();
        const attr = await meta.attachObject(f.ino, parts);
        expect(attr.size).toBe(CH + 1000);
        expect(await meta.version()).toBe(v0 + 1);
        expect(await meta.readChunk(f.ino, 0)).toEqual([{ id: parts[0].id, size: CH, pos: 0, off: 0, len: CH, ext: { object: 'data/big file', off: 0, etag: 'e1' } }]);
        expect((await meta.chunks(f.ino)).map((c) => c.slices[0].ext?.off)).toEqual([0, CH]);
        expect((await meta.getattr(f.ino)).blocks).toBe(Math.ceil((CH + 1000) / 4096) * 8);
        // Not empty any more; malformed parts change nothing.
        expect(await codeOf(meta.attachObject(f.ino, [{ ...parts[1], id: await meta.newSliceId() }]))).toBe('EINVAL');
        const g = await meta.mknod(ROOT_INODE, 'linked-2', reg());
        expect(await codeOf(meta.attachObject(g.ino, [{ id: await meta.newSliceId(), object: '', off: 0, size: 10, etag: 'x' }]))).toBe('EINVAL');
        expect(await codeOf(meta.attachObject(g.ino, [{ id: await meta.newSliceId(), object: 'k', off: 0, size: CH + 1, etag: 'x' }]))).toBe('EINVAL');
        // An id that stores blocks already is refused (its readers would be sent to the object).
        const keep = await meta.mknod(ROOT_INODE, 'linked-keep', reg());
        const kept = await write(meta, keep.ino, 0, 0, 10);
        expect(await codeOf(meta.attachObject(g.ino, [{ id: kept.id, object: 'k', off: 0, size: 10, etag: 'x' }]))).toBe('EINVAL');
        expect((await meta.getattr(g.ino)).size).toBe(0);
        // A clone shares them; the last of the two to go drops them, and nothing is queued for deletion.
        await meta.cloneRanges(g.ino, [{ src: f.ino, srcOffset: 0, dstOffset: 0, length: 500 }]);
        expect((await meta.readChunk(g.ino, 0))[0].ext?.object).toBe('data/big file');
        await meta.unlink(ROOT_INODE, 'linked', 0);
        expect((await meta.knownSlices(parts[0].id - 1, 1))[0]).toMatchObject({ id: parts[0].id, refs: 1 });
        await meta.unlink(ROOT_INODE, 'linked-2', 0);
        const known = new Set((await meta.knownSlices(0, 100_000)).map((k) => k.id));
        for (const p of parts) expect(known.has(p.id)).toBe(false);
        expect(await meta.checkVolume(false)).toEqual([]);
      });

      it('knownSlices lists referenced slices with their reference counts and freed ones with when they were freed, by id, in pages', async () => {
        const { meta } = v;
        const f = await meta.mknod(ROOT_INODE, 'known', reg());
        const a = await write(meta, f.ino, 0, 0, 1000);
        const b = await write(meta, f.ino, 0, 1000, 500);
        const copy = await meta.mknod(ROOT_INODE, 'known-copy', reg());
        await meta.cloneRanges(copy.ino, [{ src: f.ino, srcOffset: 0, dstOffset: 0, length: 1000 }]);
        const all = async () => {
          const out = [];
          for (let after = 0; ;) {
            const page = await meta.knownSlices(after, 2);
            out.push(...page);
            if (page.length < 2) return out;
            expect(page[0].id).toBeLessThan(page[1].id);
            after = page[1].id;
          }
        };
        const byId = async () => new Map((await all()).map((k) => [k.id, k]));
        expect((await byId()).get(a.id)).toEqual({ id: a.id, size: 1000, refs: 2, pendingSinceMs: null });
        expect((await byId()).get(b.id)).toEqual({ id: b.id, size: 500, refs: 1, pendingSinceMs: null });
        const t = Date.now();
        await meta.unlink(ROOT_INODE, 'known', 0);
        const freed = (await byId()).get(b.id)!;
        expect(freed.refs).toBe(0);
        expect(freed.pendingSinceMs).toBeGreaterThanOrEqual(t - 60_000);
        expect((await byId()).get(a.id)?.refs).toBe(1);
        await meta.confirmSliceDeletes([b.id]);
        expect((await byId()).has(b.id)).toBe(false);
        expect(await codeOf(meta.knownSlices(-1, 10))).toBe('EINVAL');
        expect(await codeOf(meta.knownSlices(0, 0))).toBe('EINVAL');
      });

      it('createFile creates a file already holding its slice in one version; a taken name is EEXIST and queues the slice', async () => {
        const { meta } = v;
        const before = await meta.version();
        const usedBefore = (await meta.usage()).usedBytes;
        const id = await meta.newSliceId();
        const f = await meta.createFile(ROOT_INODE, 'whole', reg(0o640), { id, size: 5000 });
        expect(await meta.version()).toBe(before + 1);
        expect(f.size).toBe(5000);
        expect(f.mode & 0o170000).toBe(0o100000);
        expect(f.nlink).toBe(1);
        expect((await meta.lookup(ROOT_INODE, 'whole')).ino).toBe(f.ino);
        expect(await meta.readChunk(f.ino, 0)).toEqual([{ id, size: 5000, pos: 0, off: 0, len: 5000 }]);
        expect((await meta.usage()).usedBytes).toBe(usedBefore + 8192);
        const empty = await meta.createFile(ROOT_INODE, 'empty', reg(), null);
        expect(empty.size).toBe(0);
        expect(await meta.readChunk(empty.ino, 0)).toEqual([]);

        const lost = await meta.newSliceId();
        expect(await codeOf(meta.createFile(ROOT_INODE, 'whole', reg(), { id: lost, size: 10 }))).toBe('EEXIST');
        expect((await pendingIds(meta)).has(lost)).toBe(true);
        expect((await pendingIds(meta)).has(id)).toBe(false);
        expect(await codeOf(meta.createFile(987_654, 'x', reg(), null))).toBe('ENOENT');
        expect(await codeOf(meta.createFile(ROOT_INODE, 'bad', reg(), { id: await meta.newSliceId(), size: -1 }))).toBe('EINVAL');
        expect(await codeOf(meta.createFile(ROOT_INODE, 'dir', { ...reg(), mode: 0o040755 }, null))).toBe('EINVAL');
        await meta.unlink(ROOT_INODE, 'whole', 0, true);
        expect((await pendingIds(meta)).has(id)).toBe(true);

        // Extras land in the same version: extended attributes and chosen times.
        const versionBefore = await meta.version();
        const t = 1_700_000_000_123_456_789n;
        const x = await meta.createFile(ROOT_INODE, 'with-extras', reg(), null, { timeNs: t, xattrs: { 'user.a': new Uint8Array([1, 2]), 'user.b': new Uint8Array(0) } });
        expect(await meta.version()).toBe(versionBefore + 1);
        expect([x.mtimeNs, x.ctimeNs, x.atimeNs]).toEqual([t, t, t]);
        expect(Buffer.from(await meta.getxattr(x.ino, 'user.a'))).toEqual(Buffer.from([1, 2]));
        expect((await meta.listxattr(x.ino)).sort()).toEqual(['user.a', 'user.b']);
        expect(await codeOf(meta.createFile(ROOT_INODE, 'bad-time', reg(), null, { timeNs: -1n }))).toBe('EINVAL');
      });

      it('unlinking a file queues its slices; confirmSliceDeletes forgets them', async () => {
        const { meta } = v;
        const f = await meta.mknod(ROOT_INODE, 'f', reg());
        const slices = [await write(meta, f.ino, 0, 0, 100), await write(meta, f.ino, 0, 100, 100), await write(meta, f.ino, 5, 0, 7)];
        await meta.unlink(ROOT_INODE, 'f', 0);
        const pending = await meta.pendingSliceDeletes(100);
        expect(pending.map((p) => p.id).sort((x, y) => x - y)).toEqual(slices.map((s) => s.id).sort((x, y) => x - y));
        for (const p of pending) expect(p.size).toBe(slices.find((s) => s.id === p.id)!.size);
        expect((await meta.pendingSliceDeletes(2)).length).toBe(2);
        expect((await meta.usage()).pendingSlices).toBe(3);
        await meta.confirmSliceDeletes([slices[0].id, slices[2].id]);
        expect((await meta.pendingSliceDeletes(100)).map((p) => p.id)).toEqual([slices[1].id]);
        await meta.confirmSliceDeletes([slices[1].id]);
        await meta.confirmSliceDeletes([]);
        expect(await meta.pendingSliceDeletes(100)).toEqual([]);
        expect((await meta.usage()).pendingSlices).toBe(0);
      });

      it('punchHole hides a range without changing the length', async () => {
        const { meta } = v;
        const f = await meta.mknod(ROOT_INODE, 'f', reg());
        const s = await write(meta, f.ino, 0, 0, 10_000);
        const attr = await meta.punchHole(f.ino, 100, 200);
        expect(attr.size).toBe(10_000);
        const chunk = await meta.readChunk(f.ino, 0);
        expect(chunk[0]).toEqual(s);
        expect(chunk[chunk.length - 1]).toMatchObject({ id: 0, pos: 100, len: 200 });
        expect((await pendingIds(meta)).size).toBe(0);
      });

      it('fallocate: allocation grows the length and stores nothing; zero ranges hide data, growing unless keepSize; a bad range is refused', async () => {
        const { meta } = v;
        const f = await meta.mknod(ROOT_INODE, 'f', reg());
        await write(meta, f.ino, 0, 0, 10_000);
        expect((await meta.fallocate(f.ino, 0, 100, { zero: false, keepSize: false })).size).toBe(10_000);
        let a = await meta.fallocate(f.ino, 9_000, 11_000, { zero: false, keepSize: false });
        expect([a.size, a.blocks]).toEqual([20_000, 24]);
        a = await meta.fallocate(f.ino, 30_000, 100, { zero: false, keepSize: true });
        expect(a.size).toBe(20_000);
        a = await meta.fallocate(f.ino, 0, 4096, { zero: true, keepSize: true });
        expect([a.size, a.blocks]).toEqual([20_000, 16]);
        a = await meta.fallocate(f.ino, 8192, 30_000, { zero: true, keepSize: false });
        expect([a.size, a.blocks]).toEqual([38_192, 8]);
        expect(await codeOf(meta.fallocate(f.ino, -1, 10, { zero: true, keepSize: true }))).toBe('EINVAL');
        expect(await codeOf(meta.fallocate(f.ino, 0, 0, { zero: true, keepSize: true }))).toBe('EINVAL');
        expect(await codeOf(meta.fallocate(ROOT_INODE, 0, 10, { zero: false, keepSize: false }))).toBe('EISDIR');
        expect((await meta.getattr(f.ino)).size).toBe(38_192);
      });

      it('blocks count the bytes that hold data, as a byte map of data and holes says, through writes, holes, truncation, fallocate, appends and clones', async () => {
        const { meta } = v;
        // Byte-exact model over a window of the file (near a chunk boundary or at the start).
        const W = 24_000;
        const op = fc.oneof(
          fc.record({ k: fc.constant('write' as const), off: fc.nat(W - 1), len: fc.integer({ min: 1, max: 6000 }) }),
          fc.record({ k: fc.constant('punch' as const), off: fc.nat(W - 1), len: fc.integer({ min: 1, max: 8000 }) }),
          fc.record({ k: fc.constant('zero' as const), off: fc.nat(W - 1), len: fc.integer({ min: 1, max: 8000 }), keep: fc.boolean() }),
          fc.record({ k: fc.constant('allocate' as const), off: fc.nat(W - 1), len: fc.integer({ min: 1, max: 8000 }), keep: fc.boolean() }),
          fc.record({ k: fc.constant('truncate' as const), size: fc.nat(W + 2000) }),
          fc.record({ k: fc.constant('append' as const), len: fc.integer({ min: 1, max: 3000 }) }),
          fc.record({ k: fc.constant('clone' as const), from: fc.nat(W - 1), to: fc.nat(W - 1), len: fc.integer({ min: 1, max: 5000 }) }),
        );
        let n = 0;
        await fc.assert(fc.asyncProperty(fc.constantFrom(0, CHUNK - W / 2), fc.array(op, { minLength: 1, maxLength: 25 }), async (base, ops) => {
          const f = await meta.mknod(ROOT_INODE, `stored-${n++}`, reg());
          // The window starts below every length the ops can leave (truncation and appends too).
          const start = Math.max(0, base - 2000);
          const data = new Uint8Array(W + 16_000);
          let length = start;
          if (start > 0) await meta.truncate(f.ino, start);
          const mark = (from: number, to: number, v: number) => { for (let i = Math.max(from, start); i < Math.min(to, start + data.length); i++) data[i - start] = v; };
          for (const o of ops) {
            if (o.k === 'write') {
              const at = base + o.off;
              await write(meta, f.ino, Math.floor(at / CHUNK), at % CHUNK, Math.min(o.len, CHUNK - (at % CHUNK)));
              mark(at, at + Math.min(o.len, CHUNK - (at % CHUNK)), 1);
              length = Math.max(length, at + Math.min(o.len, CHUNK - (at % CHUNK)));
            } else if (o.k === 'punch' || o.k === 'zero') {
              const keep = o.k === 'punch' || o.keep;
              await meta.fallocate(f.ino, base + o.off, o.len, { zero: true, keepSize: keep });
              mark(base + o.off, Math.min(base + o.off + o.len, length), 0);
              if (!keep) length = Math.max(length, base + o.off + o.len);
            } else if (o.k === 'allocate') {
              await meta.fallocate(f.ino, base + o.off, o.len, { zero: false, keepSize: o.keep });
              if (!o.keep) length = Math.max(length, base + o.off + o.len);
            } else if (o.k === 'truncate') {
              const size = base + o.size - 2000 < 0 ? 0 : base + o.size - 2000;
              await meta.truncate(f.ino, size);
              if (size < length) mark(size, length, 0);
              length = size;
            } else if (o.k === 'append') {
              const id = await meta.newSliceId();
              const at = await meta.appendSlice(f.ino, { id, size: o.len });
              mark(at, at + o.len, 1);
              length = at + o.len;
            } else {
              const from = base + o.from;
              if (from + o.len > length) continue;
              const to = base + o.to;
              await meta.cloneRanges(f.ino, [{ src: f.ino, srcOffset: from, dstOffset: to, length: o.len }]);
              const copy = Array.from({ length: o.len }, (_, i) => data[from + i - start]!);
              copy.forEach((v2, i) => mark(to + i, to + i + 1, v2));
              length = Math.max(length, to + o.len);
            }
            let stored = 0;
            for (let i = 0; i < data.length && start + i < length; i++) stored += data[i]!;
            const attr = await meta.getattr(f.ino);
            expect([attr.size, attr.blocks], JSON.stringify(o)).toEqual([length, (charged(stored) / 512)]);
          }
          await meta.unlink(ROOT_INODE, `stored-${n - 1}`, 0);
        }), { numRuns: 60 });
      });

      it('appendSlice lands at the end as of its commit, split across a chunk boundary, and frees only with its last reference', async () => {
        const { meta } = v;
        const CHUNK = 64 * 1024 * 1024;
        const f = await meta.mknod(ROOT_INODE, 'f', reg());
        await meta.truncate(f.ino, CHUNK - 10);
        const a = await meta.newSliceId();
        expect(await meta.appendSlice(f.ino, { id: a, size: 30 })).toBe(CHUNK - 10);
        expect((await meta.getattr(f.ino)).size).toBe(CHUNK + 20);
        expect((await meta.readChunk(f.ino, 0)).at(-1)).toEqual({ id: a, size: 30, pos: CHUNK - 10, off: 0, len: 10 });
        expect(await meta.readChunk(f.ino, 1)).toEqual([{ id: a, size: 30, pos: 0, off: 10, len: 20 }]);
        // A second append goes after the first, wherever the caller thought the end was.
        const b = await meta.newSliceId();
        expect(await meta.appendSlice(f.ino, { id: b, size: 5 })).toBe(CHUNK + 20);
        // Cutting the second chunk drops one of a's two references: a is still in use.
        await meta.truncate(f.ino, CHUNK);
        expect((await pendingIds(meta)).has(a)).toBe(false);
        expect((await pendingIds(meta)).has(b)).toBe(true);
        await meta.truncate(f.ino, 0);
        expect((await pendingIds(meta)).has(a)).toBe(true);
        expect(await codeOf(meta.appendSlice(f.ino, { id: a, size: 0 }))).toBe('EINVAL');
      });

      /** Which stored byte a file position reads (newest slice wins): [slice id, offset in it], or
       * null for zeros (a hole, or no slice). */
      async function byteAt(meta: Meta, ino: number, pos: number): Promise<[number, number] | null> {
        const slices = await meta.readChunk(ino, Math.floor(pos / CHUNK));
        const p = pos % CHUNK;
        for (let i = slices.length - 1; i >= 0; i--) {
          const s = slices[i];
          if (p >= s.pos && p < s.pos + s.len) return s.id === 0 ? null : [s.id, s.off + p - s.pos];
        }
        return null;
      }

      it('cloneRanges shares a file\'s slices at another offset (across chunk boundaries) without new slices', async () => {
        const { meta } = v;
        const a = await meta.mknod(ROOT_INODE, 'a', reg());
        // Two chunks of a: a slice ending at the boundary, one starting there, an overwrite on top.
        const s1 = await write(meta, a.ino, 0, CHUNK - 3 * MiB, 3 * MiB);
        const s2 = await write(meta, a.ino, 1, 0, 2 * MiB);
        const s3 = await write(meta, a.ino, 0, CHUNK - MiB, 100);
        const len = CHUNK + 2 * MiB;
        const b = await meta.mknod(ROOT_INODE, 'b', reg());
        const at = 5 * MiB + 7; // dst offset: the pieces straddle b's chunk boundaries elsewhere
        const attr = await meta.cloneRanges(b.ino, [{ src: a.ino, srcOffset: CHUNK - 4 * MiB, dstOffset: at, length: len - (CHUNK - 4 * MiB) }]);
        expect(attr.size).toBe(at + len - (CHUNK - 4 * MiB));
        expect((await meta.getattr(b.ino)).size).toBe(attr.size);
        for (const off of [0, MiB - 1, MiB, 3 * MiB - 1, 3 * MiB, 3 * MiB + 99, 3 * MiB + 100, 4 * MiB - 1, 4 * MiB, 6 * MiB - 1]) {
          expect(await byteAt(meta, b.ino, at + off)).toEqual(await byteAt(meta, a.ino, CHUNK - 4 * MiB + off));
        }
        // No new slice ids: only references to a's.
        const ids = new Set((await meta.chunks(b.ino)).flatMap((c) => c.slices.map((s) => s.id)).filter((id) => id !== 0));
        expect([...ids].every((id) => [s1.id, s2.id, s3.id].includes(id))).toBe(true);
        // The slices live on while either file references them.
        await meta.unlink(ROOT_INODE, 'a', 0);
        expect(await pendingIds(meta)).toEqual(new Set());
        expect(await byteAt(meta, b.ino, at + 3 * MiB)).toEqual([s3.id, 0]);
        await meta.unlink(ROOT_INODE, 'b', 0);
        expect(await pendingIds(meta)).toEqual(new Set([s1.id, s2.id, s3.id]));
      });

      it('cloneRanges joins several files in one transaction (multipart completion) and replaces what dst held', async () => {
        const { meta } = v;
        const p1 = await meta.mknod(ROOT_INODE, 'p1', reg());
        const p2 = await meta.mknod(ROOT_INODE, 'p2', reg());
        const x1 = await write(meta, p1.ino, 0, 0, 5 * MiB);
        const x2 = await write(meta, p2.ino, 0, 0, 1000);
        // A hole in the middle of p2 must stay a hole in the join.
        await meta.punchHole(p2.ino, 100, 200);
        const dst = await meta.mknod(ROOT_INODE, 'dst', reg());
        const old = await write(meta, dst.ino, 0, 0, 6 * MiB);
        const before = await meta.version();
        await meta.cloneRanges(dst.ino, [
          { src: p1.ino, srcOffset: 0, dstOffset: 0, length: 5 * MiB },
          { src: p2.ino, srcOffset: 0, dstOffset: 5 * MiB, length: 1000 },
        ]);
        expect(await meta.version()).toBe(before + 1);
        expect((await meta.changes(before, 10))[0].op).toBe('clone');
        expect((await meta.getattr(dst.ino)).size).toBe(6 * MiB); // never shrinks
        expect(await byteAt(meta, dst.ino, 0)).toEqual([x1.id, 0]);
        expect(await byteAt(meta, dst.ino, 5 * MiB - 1)).toEqual([x1.id, 5 * MiB - 1]);
        expect(await byteAt(meta, dst.ino, 5 * MiB)).toEqual([x2.id, 0]);
        expect(await byteAt(meta, dst.ino, 5 * MiB + 150)).toBeNull();
        expect(await byteAt(meta, dst.ino, 5 * MiB + 999)).toEqual([x2.id, 999]);
        // Past the cloned ranges dst keeps its own bytes.
        expect(await byteAt(meta, dst.ino, 5 * MiB + 1000)).toEqual([old.id, 5 * MiB + 1000]);
        // The parts can go: the join keeps their data.
        await meta.unlink(ROOT_INODE, 'p1', 0);
        await meta.unlink(ROOT_INODE, 'p2', 0);
        expect((await pendingIds(meta)).has(x1.id)).toBe(false);
        expect((await pendingIds(meta)).has(x2.id)).toBe(false);
      });

      it('cloneRanges refuses bad ranges and non-files, changing nothing', async () => {
        const { meta } = v;
        const a = await meta.mknod(ROOT_INODE, 'a', reg());
        await write(meta, a.ino, 0, 0, 4096);
        const b = await meta.mknod(ROOT_INODE, 'b', reg());
        const d = await meta.mkdir(ROOT_INODE, 'd', dirn());
        const version = await meta.version();
        // The second range reaches past a's end: the first must not apply either.
        expect(await codeOf(meta.cloneRanges(b.ino, [
          { src: a.ino, srcOffset: 0, dstOffset: 0, length: 4096 },
          { src: a.ino, srcOffset: 4000, dstOffset: 4096, length: 97 },
        ]))).toBe('EINVAL');
        expect(await codeOf(meta.cloneRanges(b.ino, [{ src: a.ino, srcOffset: -1, dstOffset: 0, length: 1 }]))).toBe('EINVAL');
        expect(await codeOf(meta.cloneRanges(d.ino, [{ src: a.ino, srcOffset: 0, dstOffset: 0, length: 1 }]))).toBe('EISDIR');
        expect(await codeOf(meta.cloneRanges(b.ino, [{ src: d.ino, srcOffset: 0, dstOffset: 0, length: 1 }]))).toBe('EISDIR');
        expect(await codeOf(meta.cloneRanges(b.ino, [{ src: 987_654, srcOffset: 0, dstOffset: 0, length: 1 }]))).toBe('ENOENT');
        expect(await codeOf(meta.cloneRanges(987_654, [{ src: a.ino, srcOffset: 0, dstOffset: 0, length: 1 }]))).toBe('ENOENT');
        expect(await meta.version()).toBe(version);
        expect((await meta.getattr(b.ino)).size).toBe(0);
        expect(await meta.chunks(b.ino)).toEqual([]);
        // Cloning nothing changes nothing but is fine.
        await meta.cloneRanges(b.ino, []);
        await meta.cloneRanges(b.ino, [{ src: a.ino, srcOffset: 0, dstOffset: 10, length: 0 }]);
        expect(await meta.version()).toBe(version);
        expect((await meta.getattr(b.ino)).size).toBe(0);
      });
    });

    describe('usage and statfs', () => {
      const v = volume({ trashDays: 0 });

      it('usedBytes is the sum of stored bytes rounded to 4 KiB per file (holes are free); inodes counts every inode', async () => {
        const { meta } = v;
        const base = await meta.usage();
        const expectUsage = async (bytes: number, inodes: number) => {
          const u = await meta.usage();
          expect(u.usedBytes).toBe(base.usedBytes + bytes);
          expect(u.inodes).toBe(base.inodes + inodes);
          await expectStatfsConsistent(meta);
        };
        const f = await meta.mknod(ROOT_INODE, 'f', reg());
        await expectUsage(0, 1);
        await write(meta, f.ino, 0, 0, 5000);
        await expectUsage(8192, 1);
        await meta.truncate(f.ino, 1);
        await expectUsage(4096, 1);
        await meta.truncate(f.ino, 10_000); // the hole past the old end stores nothing
        await expectUsage(4096, 1);
        await meta.truncate(f.ino, 0);
        await expectUsage(0, 1);
        await meta.truncate(f.ino, 4096);
        await expectUsage(0, 1);
        await write(meta, f.ino, 0, 0, 4096);
        await expectUsage(4096, 1);
        const g = await meta.mknod(ROOT_INODE, 'g', reg());
        await write(meta, g.ino, 1, 0, 1, CHUNK + 1);
        await expectUsage(4096 + charged(1), 2);
        await meta.mkdir(ROOT_INODE, 'd', dirn());
        await meta.symlink(ROOT_INODE, 'l', 'a-target', reg(0o777));
        await meta.mknod(ROOT_INODE, 'p', { mode: S_IFIFO | 0o644, uid: 0, gid: 0 });
        await expectUsage(4096 + charged(1), 5);
        await meta.link(f.ino, ROOT_INODE, 'f-link');
        await expectUsage(4096 + charged(1), 5);
        await meta.unlink(ROOT_INODE, 'f', 0);
        await expectUsage(4096 + charged(1), 5);
        await meta.unlink(ROOT_INODE, 'f-link', 0);
        await expectUsage(charged(1), 4);
        await meta.rename(ROOT_INODE, 'l', ROOT_INODE, 'g', 0, 0); // replaces (frees) g
        await expectUsage(0, 3);
        await meta.unlink(ROOT_INODE, 'g', 0);
        await meta.unlink(ROOT_INODE, 'p', 0);
        await meta.rmdir(ROOT_INODE, 'd', 0);
        await expectUsage(0, 0);
      });

      it('statfs reports the configured capacity and inode limit, and both are enforced', async () => {
        const { meta } = v;
        const base = await meta.usage();
        await meta.configure({ capacity: 1024 * MiB, inodeLimit: base.inodes + 2 });
        const fs = await meta.statfs();
        expect(fs.blocks * fs.bsize).toBe(1024 * MiB);
        expect(fs.files).toBe(base.inodes + 2);
        expect(fs.ffree).toBe(2);
        await expectStatfsConsistent(meta);

        const f = await meta.mknod(ROOT_INODE, 'f', reg());
        await write(meta, f.ino, 0, 0, 10 * MiB);
        expect((await meta.statfs()).bfree).toBe(fs.bfree - (10 * MiB) / fs.bsize);
        await meta.mknod(ROOT_INODE, 'g', reg());
        expect((await meta.statfs()).ffree).toBe(0);
        expect(await codeOf(meta.mknod(ROOT_INODE, 'h', reg()))).toBe('ENOSPC');
        expect(await codeOf(meta.mkdir(ROOT_INODE, 'h', dirn()))).toBe('ENOSPC');
        expect(await codeOf(meta.lookup(ROOT_INODE, 'h'))).toBe('ENOENT');

        await meta.configure({ capacity: 16 * MiB });
        // Growing a file stores nothing, so the capacity does not stop it; storing does.
        expect((await meta.truncate(f.ino, 32 * MiB)).size).toBe(32 * MiB);
        await meta.truncate(f.ino, 10 * MiB);
        const id = await meta.newSliceId();
        expect(await codeOf(meta.commitSlice(f.ino, 0, { id, size: 7 * MiB, pos: 20 * MiB, off: 0, len: 7 * MiB }, 27 * MiB))).toBe('ENOSPC');
        expect((await meta.getattr(f.ino)).size).toBe(10 * MiB);
        expect((await meta.readChunk(f.ino, 0)).map((s) => s.id).includes(id)).toBe(false);
        expect((await meta.usage()).usedBytes).toBe(base.usedBytes + 10 * MiB);
        // Shrinking is always allowed.
        await meta.truncate(f.ino, MiB);
        expect((await meta.usage()).usedBytes).toBe(base.usedBytes + MiB);
        // Back to unlimited.
        await meta.configure({ capacity: 0, inodeLimit: 0 });
        await meta.mknod(ROOT_INODE, 'h', reg());
        await expectStatfsConsistent(meta);
      });
    });

    describe('sessions, open files and deferred deletion', () => {
      const v = volume({ trashDays: 0 });

      it('checkVolume finds nothing wrong after everyday work, with an open unlinked file kept for its session, and its repair then changes nothing', async () => {
        const { meta } = v;
        const s = await meta.newSession({ host: 'h9', pid: 9 });
        const d = await meta.mkdir(ROOT_INODE, 'cv-dir', dirn());
        const sub = await meta.mkdir(d.ino, 'sub', dirn());
        const a = await meta.mknod(d.ino, 'a', reg());
        await write(meta, a.ino, 0, 0, 5000);
        await meta.link(a.ino, sub.ino, 'a-again');
        const kept = await meta.mknod(d.ino, 'kept', reg());
        await write(meta, kept.ino, 0, 100, 3000);
        await meta.opened(s, kept.ino);
        await meta.unlink(d.ino, 'kept', 0);
        await meta.rename(d.ino, 'a', ROOT_INODE, 'a-moved', 0, 0);
        await meta.mkdir(sub.ino, 'gone', dirn());
        await meta.rmdir(sub.ino, 'gone', 0);
        await meta.truncate(a.ino, 1000);
        const version = await meta.version();
        expect(await meta.checkVolume(false)).toEqual([]);
        expect(await meta.checkVolume(true)).toEqual([]);
        expect(await meta.version()).toBe(version);
        await meta.closeSession(s);
        expect(await meta.checkVolume(false)).toEqual([]);
      });

      it('a file unlinked while open lives (nlink 0) until released, then is freed', async () => {
        const { meta } = v;
        const base = await meta.usage();
        const s = await meta.newSession({ host: 'h1', pid: 1 });
        const f = await meta.mknod(ROOT_INODE, 'f', reg());
        await meta.opened(s, f.ino);
        await meta.opened(s, f.ino); // two handles
        const slice = await write(meta, f.ino, 0, 0, 5000);
        await meta.unlink(ROOT_INODE, 'f', 0);
        expect(await codeOf(meta.lookup(ROOT_INODE, 'f'))).toBe('ENOENT');
        const orphan = await meta.getattr(f.ino);
        expect(orphan.nlink).toBe(0);
        expect(orphan.size).toBe(5000);
        expect(await meta.readChunk(f.ino, 0)).toEqual([slice]);
        expect((await pendingIds(meta)).has(slice.id)).toBe(false);
        // Still writable through the open handle.
        const more = await write(meta, f.ino, 0, 5000, 1000);
        expect((await meta.getattr(f.ino)).size).toBe(6000);

        await meta.released(s, f.ino);
        expect((await meta.getattr(f.ino)).nlink).toBe(0); // one handle left
        await meta.released(s, f.ino);
        expect(await codeOf(meta.getattr(f.ino))).toBe('ENOENT');
        const pending = await pendingIds(meta);
        expect(pending.has(slice.id) && pending.has(more.id)).toBe(true);
        expect((await meta.usage()).inodes).toBe(base.inodes);
        expect((await meta.usage()).usedBytes).toBe(base.usedBytes);
        await meta.closeSession(s);
      });

      it('a directory removed while open keeps its attributes (nlink 0), takes no new names, and is freed at the last release', async () => {
        const { meta } = v;
        const base = await meta.usage();
        const s = await meta.newSession({ host: 'h1', pid: 2 });
        const rootLinks = (await meta.getattr(ROOT_INODE)).nlink;
        const d = await meta.mkdir(ROOT_INODE, 'd', dirn());
        const other = await meta.mkdir(ROOT_INODE, 'other', dirn());
        const victim = await meta.mkdir(ROOT_INODE, 'victim', dirn());
        const f = await meta.mknod(ROOT_INODE, 'f', reg());
        await meta.opened(s, d.ino);
        await meta.opened(s, victim.ino);
        await meta.rmdir(ROOT_INODE, 'd', 0);
        await meta.rename(ROOT_INODE, 'other', ROOT_INODE, 'victim', 0, 0); // replaces an open empty directory
        expect(await codeOf(meta.lookup(ROOT_INODE, 'd'))).toBe('ENOENT');
        for (const gone of [d, victim]) {
          const attr = await meta.getattr(gone.ino);
          expect(attr.nlink).toBe(0);
          expect(await codeOf(meta.readdir(gone.ino, 0, 10))).toBe('ENOENT');
        }
        expect((await meta.getattr(ROOT_INODE)).nlink).toBe(rootLinks + 1); // three made, two gone
        expect(await codeOf(meta.mkdir(d.ino, 'x', dirn()))).toBe('ENOENT');
        expect(await codeOf(meta.mknod(d.ino, 'x', reg()))).toBe('ENOENT');
        expect(await codeOf(meta.link(f.ino, d.ino, 'x'))).toBe('ENOENT');
        expect(await codeOf(meta.rename(ROOT_INODE, 'f', d.ino, 'x', 0, 0))).toBe('ENOENT');
        // One release batch may name an inode more than once.
        await meta.opened(s, d.ino);
        await meta.released(s, [d.ino, victim.ino, d.ino]);
        expect(await codeOf(meta.getattr(d.ino))).toBe('ENOENT');
        expect(await codeOf(meta.getattr(victim.ino))).toBe('ENOENT');
        await meta.unlink(ROOT_INODE, 'f', 0);
        await meta.rmdir(ROOT_INODE, 'victim', 0);
        expect((await meta.usage()).inodes).toBe(base.inodes);
        await meta.closeSession(s);
      });

      it('a file open in two sessions lives until both let go; mknod can open in the same call', async () => {
        const { meta } = v;
        const s1 = await meta.newSession({ n: 1 });
        const s2 = await meta.newSession({ n: 2 });
        expect(s1).not.toBe(s2);
        const f = await meta.mknod(ROOT_INODE, 'f', reg(), s1);
        await meta.opened(s2, f.ino);
        await meta.unlink(ROOT_INODE, 'f', 0);
        await meta.released(s1, f.ino);
        expect((await meta.getattr(f.ino)).nlink).toBe(0);
        await meta.released(s2, f.ino);
        expect(await codeOf(meta.getattr(f.ino))).toBe('ENOENT');

        // A file released while it still has a name is untouched.
        const g = await meta.mknod(ROOT_INODE, 'g', reg(), s1);
        await meta.released(s1, g.ino);
        expect((await meta.getattr(g.ino)).nlink).toBe(1);
        // Replacing an open file by rename keeps it alive too.
        const h = await meta.mknod(ROOT_INODE, 'h', reg(), s2);
        await meta.rename(ROOT_INODE, 'g', ROOT_INODE, 'h', 0, 0);
        expect((await meta.getattr(h.ino)).nlink).toBe(0);
        await meta.closeSession(s2);
        expect(await codeOf(meta.getattr(h.ino))).toBe('ENOENT');
        expect(await codeOf(meta.opened(s1, 987_654))).toBe('ENOENT');
        // A closed session records nothing: ESTALE, and the file is not kept for it.
        const dead = await meta.newSession({ host: 'gone' });
        await meta.closeSession(dead);
        const k = await meta.mknod(ROOT_INODE, 'k', reg());
        expect(await codeOf(meta.opened(dead, k.ino))).toBe('ESTALE');
        await meta.unlink(ROOT_INODE, 'k', 0, true);
        expect(await codeOf(meta.getattr(k.ino))).toBe('ENOENT');
      });

      it('closeSession frees the unlinked files only it kept open, and forgets the session', async () => {
        const { meta } = v;
        const s = await meta.newSession({ host: 'a', pid: 42 });
        const other = await meta.newSession({ host: 'b' });
        const listed = await meta.sessions();
        expect(listed.map((x) => x.id)).toEqual([s, other]);
        expect(listed[0].info).toEqual({ host: 'a', pid: 42 });
        expect(listed[0].heartbeatMs).toBeGreaterThanOrEqual(listed[0].startedMs);
        const f = await meta.mknod(ROOT_INODE, 'f', reg());
        const kept = await meta.mknod(ROOT_INODE, 'kept', reg());
        const slice = await write(meta, f.ino, 0, 0, 100);
        await meta.opened(s, f.ino);
        await meta.opened(s, kept.ino);
        await meta.unlink(ROOT_INODE, 'f', 0);
        await meta.closeSession(s);
        expect(await codeOf(meta.getattr(f.ino))).toBe('ENOENT');
        expect((await pendingIds(meta)).has(slice.id)).toBe(true);
        expect((await meta.getattr(kept.ino)).nlink).toBe(1);
        expect((await meta.sessions()).map((x) => x.id)).toEqual([other]);
        expect(await codeOf(meta.heartbeat(s))).toBe('ESTALE');
        await meta.heartbeat(other);
      });

      it('cleanStaleSessions closes only sessions whose heartbeat is older than staleMs', async () => {
        const { meta } = v;
        const stale = await meta.newSession({ who: 'stale' });
        const f = await meta.mknod(ROOT_INODE, 'f', reg());
        await meta.opened(stale, f.ino);
        await meta.flock(f.ino, stale, 'o', 'write');
        await meta.unlink(ROOT_INODE, 'f', 0);
        await sleep(400);
        const live = await meta.newSession({ who: 'live' });
        expect(await meta.cleanStaleSessions(60_000)).toBe(0);
        expect(await meta.cleanStaleSessions(200)).toBe(1);
        expect((await meta.sessions()).map((x) => x.id)).toEqual([live]);
        expect(await codeOf(meta.getattr(f.ino))).toBe('ENOENT');
        // The heartbeat keeps a session alive.
        await sleep(50);
        await meta.heartbeat(live);
        expect(await meta.cleanStaleSessions(40)).toBe(0);
        await sleep(5);
        expect(await meta.cleanStaleSessions(0)).toBe(1);
        expect(await meta.sessions()).toEqual([]);
      });
    });

    describe('locks', () => {
      const v = volume({ trashDays: 0 });

      it('flock: shared locks coexist, exclusive conflicts (EAGAIN) until unlocked', async () => {
        const { meta } = v;
        const f = await meta.mknod(ROOT_INODE, 'f', reg());
        const s1 = await meta.newSession({});
        const s2 = await meta.newSession({});
        await meta.flock(f.ino, s1, 'a', 'read');
        await meta.flock(f.ino, s2, 'b', 'read');
        expect(await codeOf(meta.flock(f.ino, s2, 'b', 'write'))).toBe('EAGAIN');
        await meta.flock(f.ino, s1, 'a', 'unlock');
        await meta.flock(f.ino, s2, 'b', 'write'); // upgrade once alone
        expect(await codeOf(meta.flock(f.ino, s1, 'a', 'read'))).toBe('EAGAIN');
        expect(await codeOf(meta.flock(f.ino, s1, 'a', 'write'))).toBe('EAGAIN');
        // Another open file description in the same session conflicts too.
        expect(await codeOf(meta.flock(f.ino, s2, 'c', 'read'))).toBe('EAGAIN');
        await meta.flock(f.ino, s2, 'b', 'read'); // downgrade
        await meta.flock(f.ino, s1, 'a', 'read');
        await meta.flock(f.ino, s2, 'b', 'unlock');
        await meta.flock(f.ino, s1, 'a', 'unlock');
        await meta.flock(f.ino, s1, 'a', 'unlock'); // unlocking nothing is fine
        await meta.flock(f.ino, s1, 'a', 'write');
        expect(await codeOf(meta.flock(f.ino, s2, 'b', 'read'))).toBe('EAGAIN');
        // Locks of a closed session go with it.
        await meta.closeSession(s1);
        await meta.flock(f.ino, s2, 'b', 'write');
        // Other files are independent.
        const g = await meta.mknod(ROOT_INODE, 'g', reg());
        const s3 = await meta.newSession({});
        await meta.flock(g.ino, s3, 'x', 'write');
        expect(await codeOf(meta.flock(987_654, s3, 'x', 'write'))).toBe('ENOENT');
      });

      it('POSIX locks: read/read share, write conflicts are EAGAIN and reported by getlk', async () => {
        const { meta } = v;
        const f = await meta.mknod(ROOT_INODE, 'f', reg());
        const s1 = await meta.newSession({});
        const s2 = await meta.newSession({});
        await meta.setlk(f.ino, s1, 'o1', { kind: 'read', start: 0, end: 100, pid: 11 });
        await meta.setlk(f.ino, s2, 'o2', { kind: 'read', start: 50, end: 150, pid: 22 });
        expect(await codeOf(meta.setlk(f.ino, s2, 'o2', { kind: 'write', start: 90, end: 95, pid: 22 }))).toBe('EAGAIN');
        expect(await meta.getlk(f.ino, s2, 'o2', { kind: 'read', start: 0, end: 10, pid: 22 })).toBeNull();
        expect(await meta.getlk(f.ino, s2, 'o2', { kind: 'write', start: 0, end: 10, pid: 22 }))
          .toEqual({ kind: 'read', start: 0, end: 100, pid: 11, session: s1, owner: 'o1' });
        // Past both locks: free.
        expect(await meta.getlk(f.ino, s2, 'o3', { kind: 'write', start: 150, end: -1, pid: 33 })).toBeNull();
        await meta.setlk(f.ino, s2, 'o3', { kind: 'write', start: 150, end: -1, pid: 33 });
        expect(await codeOf(meta.setlk(f.ino, s1, 'o1', { kind: 'read', start: 1_000_000_000, end: 1_000_000_001, pid: 11 }))).toBe('EAGAIN');
        expect(await meta.getlk(f.ino, s1, 'o1', { kind: 'read', start: 200, end: 300, pid: 11 }))
          .toEqual({ kind: 'write', start: 150, end: -1, pid: 33, session: s2, owner: 'o3' });
        // Adjacent ranges do not overlap ([start, end) is half-open): o1 upgrades [0, 50) next to o2's read.
        await meta.setlk(f.ino, s1, 'o1', { kind: 'write', start: 0, end: 50, pid: 11 });
        expect(await meta.getlk(f.ino, s2, 'o2', { kind: 'read', start: 49, end: 50, pid: 22 })).toMatchObject({ kind: 'write', start: 0, end: 50, owner: 'o1' });
        expect(await meta.getlk(f.ino, s2, 'o2', { kind: 'read', start: 50, end: 60, pid: 22 })).toBeNull();
        expect(await codeOf(meta.setlk(f.ino, s1, 'o4', { kind: 'write', start: 149, end: 150, pid: 44 }))).toBe('EAGAIN'); // o2's read
        await meta.setlk(f.ino, s2, 'o2', { kind: 'unlock', start: 0, end: -1, pid: 22 });
        await meta.setlk(f.ino, s1, 'o4', { kind: 'write', start: 149, end: 150, pid: 44 });
        // Closing the session drops its locks.
        await meta.closeSession(s2);
        await meta.setlk(f.ino, s1, 'o1', { kind: 'write', start: 500, end: -1, pid: 11 });
        expect(await codeOf(meta.setlk(f.ino, s1, 'o1', { kind: 'read', start: 10, end: 5, pid: 11 }))).toBe('EINVAL');
      });

      it('POSIX locks: an owner replaces and splits its own ranges; unlocking a middle part frees just that', async () => {
        const { meta } = v;
        const f = await meta.mknod(ROOT_INODE, 'f', reg());
        const s1 = await meta.newSession({});
        const s2 = await meta.newSession({});
        const probe = (kind: 'read' | 'write', start: number, end: number) => meta.getlk(f.ino, s2, 'other', { kind, start, end, pid: 2 });

        await meta.setlk(f.ino, s1, 'me', { kind: 'write', start: 0, end: 100, pid: 1 });
        // The owner's own locks never conflict: a read inside the write replaces that part.
        await meta.setlk(f.ino, s1, 'me', { kind: 'read', start: 20, end: 30, pid: 1 });
        expect(await probe('read', 20, 30)).toBeNull();
        expect(await probe('read', 0, 10)).toMatchObject({ kind: 'write', start: 0, end: 20, session: s1, owner: 'me' });
        expect(await probe('read', 30, 40)).toMatchObject({ kind: 'write', start: 30, end: 100 });
        expect(await probe('write', 25, 26)).toMatchObject({ kind: 'read', start: 20, end: 30 });

        // Unlock the middle of the whole thing.
        await meta.setlk(f.ino, s1, 'me', { kind: 'write', start: 0, end: 100, pid: 1 });
        await meta.setlk(f.ino, s1, 'me', { kind: 'unlock', start: 40, end: 60, pid: 1 });
        expect(await probe('write', 40, 60)).toBeNull();
        await meta.setlk(f.ino, s2, 'other', { kind: 'write', start: 40, end: 60, pid: 2 });
        expect(await codeOf(meta.setlk(f.ino, s2, 'other', { kind: 'write', start: 30, end: 45, pid: 2 }))).toBe('EAGAIN');
        expect(await probe('write', 60, 70)).toMatchObject({ kind: 'write', start: 60, end: 100, owner: 'me' });
        expect(await probe('write', 39, 40)).toMatchObject({ kind: 'write', start: 0, end: 40, owner: 'me' });
        // The failed setlk left 'other' with just its own range.
        expect(await meta.getlk(f.ino, s1, 'me', { kind: 'read', start: 0, end: -1, pid: 1 }))
          .toMatchObject({ kind: 'write', start: 40, end: 60, owner: 'other' });

        // Unlock everything of 'me': only 'other' remains.
        await meta.setlk(f.ino, s1, 'me', { kind: 'unlock', start: 0, end: -1, pid: 1 });
        expect(await probe('write', 0, 40)).toBeNull();
        expect(await probe('write', 60, 1000)).toBeNull();
        // Same session, different owner: conflicts like any other owner.
        expect(await codeOf(meta.setlk(f.ino, s2, 'third', { kind: 'read', start: 50, end: 51, pid: 3 }))).toBe('EAGAIN');
      });
    });

    describe('cache-group rows', () => {
      const v = volume({ trashDays: 0 });

      it('members register, refresh, list by group and leave, without touching the version or the change log', async () => {
        const { meta } = v;
        const before = await meta.version();
        const settings = await meta.settings();
        const a = { id: 'aaaa', address: '127.0.0.1:1', weight: 2, backup: false, startedMs: 5 };
        await meta.groupBeat('g_1', a);
        await meta.groupBeat('g_1', { id: 'bbbb', address: '127.0.0.1:2', weight: 1, backup: true, startedMs: 6 });
        // "_" is a LIKE wildcard: a group named gX1 must not list g_1's members, nor the reverse.
        await meta.groupBeat('gX1', { id: 'cccc', address: '127.0.0.1:3', weight: 1, backup: false, startedMs: 7 });
        const t0 = Date.now();
        await meta.groupBeat('g_1', { ...a, address: '127.0.0.1:9' });
        const members = await meta.groupMembers('g_1');
        expect(members.map((m) => [m.id, m.address, m.weight, m.backup, m.startedMs])).toEqual([['aaaa', '127.0.0.1:9', 2, false, 5], ['bbbb', '127.0.0.1:2', 1, true, 6]]);
        expect(members[0]!.heartbeatMs).toBeGreaterThanOrEqual(t0 - 5);
        expect((await meta.groupMembers('gX1')).map((m) => m.id)).toEqual(['cccc']);
        await meta.groupSecret('only_a_secret', 's');
        expect(await meta.groupNames()).toEqual(['gX1', 'g_1']);
        await meta.groupLeave('g_1', 'aaaa');
        expect((await meta.groupMembers('g_1')).map((m) => m.id)).toEqual(['bbbb']);
        expect(await meta.version()).toBe(before);
        expect(await meta.settings()).toEqual(settings);
        await expect(meta.groupBeat('no spaces', a)).rejects.toMatchObject({ code: 'EINVAL' });
      });

      it('the group secret is whatever the first caller stored; later callers get the same', async () => {
        const { meta } = v;
        const before = await meta.version();
        expect(await meta.groupSecret('g', 'first')).toBe('first');
        expect(await meta.groupSecret('g', 'second')).toBe('first');
        expect(await meta.groupSecret('h', 'other')).toBe('other');
        expect(await meta.version()).toBe(before);
      });
    });

    describe('event notification queue', () => {
      const v = volume({ trashDays: 0 });
      const ev = (target: string, key: string, n: number) => ({ target, key, body: JSON.stringify({ n }) });

      it('events given with a change commit with it, and only if it commits; its log entry is marked', async () => {
        const { meta } = v;
        const dir = await meta.mkdir(ROOT_INODE, 'b', dirn(), [ev('t1', 'b', 0)]);
        await meta.createFile(dir.ino, 'tmp', reg(), null);
        await meta.rename(dir.ino, 'tmp', dir.ino, 'k', 0, 0, [ev('t1', 'b/k', 1), ev('t2', 'b/k', 1)]);
        expect(await codeOf(meta.rename(dir.ino, 'missing', dir.ino, 'k2', 0, 0, [ev('t1', 'b/k2', 2)]))).toBe('ENOENT');
        expect(await codeOf(meta.unlink(dir.ino, 'missing', 0, false, [ev('t1', 'b/missing', 3)]))).toBe('ENOENT');
        await meta.unlink(dir.ino, 'k', 0, false, [ev('t1', 'b/k', 4)]);
        const made = await meta.createFile(dir.ino, 'whole', reg(), null, { events: [ev('t1', 'b/whole', 5)] });
        expect(made.size).toBe(0);
        await meta.rmdir(ROOT_INODE, 'empty-not', 0, [ev('t1', 'x', 6)]).catch(() => undefined);
        const got = await meta.claimEvents('t1', 'g1', 60_000, 100);
        expect(got!.map((e) => [e.key, JSON.parse(e.body).n])).toEqual([['b', 0], ['b/k', 1], ['b/k', 4], ['b/whole', 5]]);
        expect(got!.map((e) => e.seq)).toEqual([...got!.map((e) => e.seq)].sort((a, b) => a - b));
        const log = await meta.changes(0, 100);
        expect(log.filter((e) => e.op.endsWith('+events')).map((e) => e.op)).toEqual(['mkdir+events', 'rename+events', 'unlink+events', 'create+events']);
        expect(log.find((e) => e.op === 'create')).toBeDefined();
      });

      it('one holder at a time delivers a target, until its lease lapses; delivered events leave, failures and drops are counted', async () => {
        const { meta } = v;
        const before = await meta.version();
        expect(await meta.queueEvents([ev('t', 'b/a', 1), ev('t', 'b/b', 2), ev('t', 'b/a', 3), ev('u', 'b/a', 9)])).toBe(true);
        const a = await meta.claimEvents('t', 'A', 300, 2);
        expect(a!.map((e) => JSON.parse(e.body).n)).toEqual([1, 2]);
        expect(await meta.claimEvents('t', 'B', 300, 2)).toBeNull();
        // Another target's lease is its own.
        expect((await meta.claimEvents('u', 'B', 300, 10))!.length).toBe(1);
        await meta.settleEvents('t', [a![0]!.seq], 2);
        await sleep(400);
        const b = await meta.claimEvents('t', 'B', 60_000, 10);
        expect(b!.map((e) => JSON.parse(e.body).n)).toEqual([2, 3]);
        expect(await meta.claimEvents('t', 'A', 60_000, 10)).toBeNull();
        expect(await meta.queueEvents([1, 2, 3, 4, 5].map((n) => ev('t', 'b/c', 10 + n)))).toBe(true);
        expect(await meta.trimEvents('t', 3)).toBe(4);
        expect(await meta.trimEvents('t', 3)).toBe(0);
        const left = await meta.claimEvents('t', 'B', 60_000, 10);
        expect(left!.map((e) => JSON.parse(e.body).n)).toEqual([13, 14, 15]);
        const stats = await meta.eventStats();
        expect(stats.map((s) => [s.target, s.depth, s.delivered, s.failed, s.dropped, s.holder])).toEqual([['t', 3, 1, 2, 4, 'B'], ['u', 1, 0, 0, 0, 'B']]);
        expect(stats[0]!.oldestMs).toBeGreaterThan(Date.now() - 60_000);
        // Bookkeeping of this engine only: no version, no change-log entry.
        expect(await meta.version()).toBe(before);
      });

      it('a change-log consumer moves with the events derived from its step, once', async () => {
        const { meta } = v;
        await meta.registerConsumer('events', 0);
        expect(await meta.queueEvents([ev('t', 'b/x', 1)], { consumer: 'events', from: 0, to: 5 })).toBe(true);
        // A second reader that read from the same position finds it moved: nothing is queued twice.
        expect(await meta.queueEvents([ev('t', 'b/x', 1)], { consumer: 'events', from: 0, to: 5 })).toBe(false);
        expect((await meta.consumers()).find((c) => c.name === 'events')!.applied).toBe(5);
        expect((await meta.claimEvents('t', 'A', 1000, 10))!.length).toBe(1);
      });

      it('pathOf names an inode by its path from the root, or null when nothing names it', async () => {
        const { meta } = v;
        const a = await meta.mkdir(ROOT_INODE, 'a', dirn());
        const b = await meta.mkdir(a.ino, 'b c', dirn());
        const f = await meta.createFile(b.ino, 'f', reg(), null);
        expect(await meta.pathOf(f.ino)).toBe('/a/b c/f');
        expect(await meta.pathOf(ROOT_INODE)).toBe('/');
        await meta.rename(a.ino, 'b c', ROOT_INODE, 'd', 0, 0);
        expect(await meta.pathOf(f.ino)).toBe('/d/f');
        await meta.unlink(b.ino, 'f', 0);
        expect(await meta.pathOf(f.ino)).toBeNull();
      });
    });

    describe('versions and the change log', () => {
      const v = volume({ trashDays: 0 });

      it('every mutating call gets a new, higher version; reads and failed calls do not', async () => {
        const { meta } = v;
        const f0 = await meta.mknod(ROOT_INODE, 'f0', reg());
        let last = await meta.version();
        expect(last).toBeGreaterThan(0);
        let ino = f0.ino;
        let dIno = 0;
        const mutations: [string, () => Promise<unknown>][] = [
          ['mknod', async () => { ino = (await meta.mknod(ROOT_INODE, 'f', reg())).ino; }],
          ['mkdir', async () => { dIno = (await meta.mkdir(ROOT_INODE, 'd', dirn())).ino; }],
          ['symlink', () => meta.symlink(ROOT_INODE, 'l', 't', reg(0o777))],
          ['setattr', () => meta.setattr(ino, { mode: 0o600 })],
          ['setxattr', () => meta.setxattr(ino, 'user.a', Buffer.from('1'), 0)],
          ['removexattr', () => meta.removexattr(ino, 'user.a')],
          ['link', () => meta.link(ino, dIno, 'hard')],
          ['rename', () => meta.rename(ROOT_INODE, 'f', dIno, 'moved', 0, 0)],
          ['commitSlice', () => write(meta, ino, 0, 0, 10)],
          ['truncate', () => meta.truncate(ino, 5)],
          ['punchHole', () => meta.punchHole(ino, 0, 2)],
          ['unlink', () => meta.unlink(dIno, 'hard', 0)],
          ['unlink last', () => meta.unlink(dIno, 'moved', 0)],
          ['rmdir', () => meta.rmdir(ROOT_INODE, 'd', 0)],
          ['configure', () => meta.configure({ capacity: 12345 * 4096 })],
        ];
        const reads: [string, () => Promise<unknown>][] = [
          ['getattr', () => meta.getattr(f0.ino)],
          ['lookup', () => meta.lookup(ROOT_INODE, 'f0')],
          ['readdir', () => meta.readdir(ROOT_INODE, 0, 100)],
          ['readlink', () => meta.readlink(ROOT_INODE).catch(() => undefined)],
          ['listxattr', () => meta.listxattr(f0.ino)],
          ['getxattr', () => meta.getxattr(f0.ino, 'user.none').catch(() => undefined)],
          ['statfs', () => meta.statfs()],
          ['usage', () => meta.usage()],
          ['readChunk', () => meta.readChunk(f0.ino, 0)],
          ['chunks', () => meta.chunks(f0.ino)],
          ['settings', () => meta.settings()],
          ['sessions', () => meta.sessions()],
          ['changes', () => meta.changes(0, 10)],
          ['oldestVersion', () => meta.oldestVersion()],
          ['listTrash', () => meta.listTrash()],
          ['pendingSliceDeletes', () => meta.pendingSliceDeletes(10)],
          ['getlk', () => meta.getlk(f0.ino, 1, 'o', { kind: 'write', start: 0, end: -1, pid: 1 })],
        ];
        const failing: [string, () => Promise<unknown>][] = [
          ['mknod EEXIST', () => meta.mknod(ROOT_INODE, 'f0', reg())],
          ['unlink ENOENT', () => meta.unlink(ROOT_INODE, 'nope', 0)],
          ['rmdir ENOTDIR', () => meta.rmdir(ROOT_INODE, 'f0', 0)],
          ['rename ENOENT', () => meta.rename(ROOT_INODE, 'nope', ROOT_INODE, 'x', 0, 0)],
          ['setxattr ENODATA', () => meta.setxattr(f0.ino, 'user.x', Buffer.from('x'), XATTR_REPLACE)],
        ];
        for (const [nm, run] of mutations) {
          await run();
          const now = await meta.version();
          expect(now, nm).toBeGreaterThan(last);
          const [entry] = await meta.changes(last, 1);
          expect(entry?.version, nm).toBe(now);
          expect(entry.rows.length, nm).toBeGreaterThan(0);
          last = now;
          for (const [rn, read] of reads) {
            await read();
            expect(await meta.version(), `${rn} after ${nm}`).toBe(last);
          }
        }
        for (const [nm, run] of failing) {
          expect(await codeOf(run()), nm).not.toBe('ok');
          expect(await meta.version(), nm).toBe(last);
        }
        expect(await meta.changes(last, 10)).toEqual([]);
      });

      it('changes() returns contiguous entries, oldest first, with row images of what changed', async () => {
        const { meta } = v;
        const start = await meta.version();
        const f = await meta.mknod(ROOT_INODE, 'hello.txt', reg(0o640, 7, 8));
        const vMknod = await meta.version();
        const mtime = 1_700_000_000_123_456_789n;
        await meta.setattr(f.ino, { mtimeNs: mtime });
        const vSetattr = await meta.version();
        await meta.setxattr(f.ino, 'user.k', Buffer.from([0xde, 0xad]), 0);
        await meta.unlink(ROOT_INODE, 'hello.txt', 0);
        const vUnlink = await meta.version();

        const entries = await meta.changes(start, 100);
        expect(entries.map((e) => e.version)).toEqual(Array.from({ length: vUnlink - start }, (_, i) => start + 1 + i));
        for (const e of entries) {
          expect(typeof e.op).toBe('string');
          expect(e.timeMs).toBeGreaterThan(Date.now() - 60_000);
          expect(e.timeMs).toBeLessThanOrEqual(Date.now());
        }
        const mk = entries.find((e) => e.version === vMknod)!;
        const inodePut = rowsOf(mk, 'inodes', 'put').find((r) => Number(r.ino) === f.ino);
        expect(inodePut, 'mknod logs the new inode').toBeDefined();
        const dentryPut = rowsOf(mk, 'dentries', 'put').find((r) => r.name === 'hello.txt');
        expect(dentryPut, 'mknod logs the new entry').toBeDefined();
        expect(Number(dentryPut!.ino)).toBe(f.ino);
        expect(Number(dentryPut!.parent)).toBe(ROOT_INODE);

        const sa = entries.find((e) => e.version === vSetattr)!;
        const saRow = rowsOf(sa, 'inodes', 'put').find((r) => Number(r.ino) === f.ino)!;
        expect(saRow).toBeDefined();
        // Nanosecond times survive the log digit for digit.
        expect(Object.values(saRow).map(String)).toContain(mtime.toString());

        const un = entries.find((e) => e.version === vUnlink)!;
        expect(rowsOf(un, 'dentries', 'delete').some((r) => r.name === 'hello.txt')).toBe(true);
        expect(rowsOf(un, 'inodes', 'delete').some((r) => Number(r.ino) === f.ino)).toBe(true);

        // Paging through the log with a small limit gives the same entries.
        const paged: ChangeEntry[] = [];
        for (let after = start; ;) {
          const page = await meta.changes(after, 2);
          if (page.length === 0) break;
          expect(page.length).toBeLessThanOrEqual(2);
          paged.push(...page);
          after = page[page.length - 1].version;
        }
        expect(paged).toEqual(entries);

        // The log from the beginning is contiguous too.
        const oldest = await meta.oldestVersion();
        expect(oldest).toBeGreaterThan(0);
        expect(oldest).toBeLessThanOrEqual(start + 1);
        const all = await meta.changes(oldest - 1, 100_000);
        expect(all[0].version).toBe(oldest);
        expect(all[all.length - 1].version).toBe(vUnlink);
        all.forEach((e, i) => expect(e.version).toBe(oldest + i));
      });
    });

    describe('trash (trash-days 1)', () => {
      const v = volume({ trashDays: 1 });

      it('unlink moves a file to the trash; listTrash shows where it came from; restoreTrash puts it back', async () => {
        const { meta } = v;
        expect((await meta.settings()).trashDays).toBe(1);
        const base = await meta.usage();
        const d = await meta.mkdir(ROOT_INODE, 'docs', dirn());
        const f = await meta.mknod(d.ino, 'report.txt', reg(0o600, 5, 5));
        const slice = await write(meta, f.ino, 0, 0, 3000);
        await meta.setxattr(f.ino, 'user.tag', Buffer.from('keep'), 0);
        const before = Date.now();
        await meta.unlink(d.ino, 'report.txt', 5);
        const after = Date.now();
        expect(await codeOf(meta.lookup(d.ino, 'report.txt'))).toBe('ENOENT');
        expect(await namesOf(meta, d.ino)).toEqual([]);
        // Nothing is freed yet.
        expect((await meta.getattr(f.ino)).size).toBe(3000);
        expect((await pendingIds(meta)).has(slice.id)).toBe(false);

        const trash = await meta.listTrash();
        expect(trash).toHaveLength(1);
        const t = trash[0];
        expect(t).toMatchObject({ ino: f.ino, parent: d.ino, name: 'report.txt', size: 3000, isDir: false });
        expect(t.deletedMs).toBeGreaterThanOrEqual(before - 1);
        expect(t.deletedMs).toBeLessThanOrEqual(after + 1);
        const m = /^(\d{4}-\d{2}-\d{2}-\d{2})\/(.+)$/.exec(t.path);
        expect(m, t.path).not.toBeNull();
        expect(m![2]).toBe(`${d.ino}-${f.ino}-report.txt`);
        expect(m![1]).toBe(new Date(t.deletedMs).toISOString().slice(0, 13).replace('T', '-'));
        // The trash directory really holds it: .trash/HOUR/parent-ino-name.
        const hour = await meta.lookup(TRASH_INODE, m![1]);
        expect(hour.mode & S_IFMT).toBe(S_IFDIR);
        expect((await meta.lookup(hour.ino, m![2])).ino).toBe(f.ino);

        await meta.restoreTrash(t.path);
        const back = await meta.lookup(d.ino, 'report.txt');
        expect(back.ino).toBe(f.ino);
        expect(back.size).toBe(3000);
        expect(back.nlink).toBe(1);
        expect(await meta.readChunk(f.ino, 0)).toEqual([slice]);
        expect(Buffer.from(await meta.getxattr(f.ino, 'user.tag')).toString()).toBe('keep');
        expect(await meta.listTrash()).toEqual([]);
        expect(await codeOf(meta.restoreTrash(t.path))).toBe('ENOENT');

        // Empty the (now empty) trash: the file stays, counters are back to normal.
        await meta.emptyTrash(0);
        expect((await meta.getattr(f.ino)).nlink).toBe(1);
        expect((await meta.usage()).inodes).toBe(base.inodes + 2);
      });

      it('restoreTrash refuses with EEXIST when the name is taken again, and changes nothing', async () => {
        const { meta } = v;
        const f = await meta.mknod(ROOT_INODE, 'f', reg());
        await meta.unlink(ROOT_INODE, 'f', 0);
        const newer = await meta.mknod(ROOT_INODE, 'f', reg());
        const [t] = await meta.listTrash();
        expect(t.ino).toBe(f.ino);
        expect(await codeOf(meta.restoreTrash(t.path))).toBe('EEXIST');
        expect((await meta.lookup(ROOT_INODE, 'f')).ino).toBe(newer.ino);
        expect(await meta.listTrash()).toEqual([t]);
        // After the newer file moves away, the restore works.
        await meta.rename(ROOT_INODE, 'f', ROOT_INODE, 'f.new', 0, 0);
        await meta.restoreTrash(t.path);
        expect((await meta.lookup(ROOT_INODE, 'f')).ino).toBe(f.ino);

        // ENOENT when the directory it came from is gone; bogus paths are refused.
        const d = await meta.mkdir(ROOT_INODE, 'd', dirn());
        await meta.mknod(d.ino, 'x', reg());
        await meta.unlink(d.ino, 'x', 0);
        await meta.rmdir(ROOT_INODE, 'd', 0);
        const [tx] = await meta.listTrash();
        expect(await codeOf(meta.restoreTrash(tx.path))).toBe('ENOENT');
        expect(await meta.listTrash()).toEqual([tx]);
        expect(await codeOf(meta.restoreTrash('no-such-hour/entry'))).toBe('ENOENT');
        expect(await codeOf(meta.restoreTrash('garbage'))).not.toBe('ok');
      });

      it('emptyTrash(0) frees trashed files and their slices; younger-than entries stay', async () => {
        const { meta } = v;
        const base = await meta.usage();
        const f = await meta.mknod(ROOT_INODE, 'f', reg());
        const s = await write(meta, f.ino, 0, 0, 10_000);
        const g = await meta.mknod(ROOT_INODE, 'g', reg());
        await meta.unlink(ROOT_INODE, 'f', 0);
        await meta.rename(ROOT_INODE, 'g', ROOT_INODE, 'target', 0, 0);
        const replaced = await meta.mknod(ROOT_INODE, 'r', reg());
        await meta.rename(ROOT_INODE, 'target', ROOT_INODE, 'r', 0, 0); // r loses its last name
        const trashed = await meta.listTrash();
        expect(trashed.map((t) => t.ino).sort()).toEqual([f.ino, replaced.ino].sort());
        expect(trashed.find((t) => t.ino === replaced.ino)).toMatchObject({ parent: ROOT_INODE, name: 'r' });
        expect((await meta.usage()).usedBytes).toBe(base.usedBytes + 12_288);

        expect(await meta.emptyTrash(3_600_000)).toBe(0);
        expect(await meta.listTrash()).toHaveLength(2);
        expect(await meta.emptyTrash(0)).toBe(2);
        expect(await meta.listTrash()).toEqual([]);
        expect(await codeOf(meta.getattr(f.ino))).toBe('ENOENT');
        expect(await codeOf(meta.getattr(replaced.ino))).toBe('ENOENT');
        expect((await pendingIds(meta)).has(s.id)).toBe(true);
        expect(await namesOf(meta, TRASH_INODE)).toEqual([]);
        const u = await meta.usage();
        expect(u.usedBytes).toBe(base.usedBytes);
        expect(u.inodes).toBe(base.inodes + 1); // only 'r' (was g) remains
        await expectStatfsConsistent(meta);
      });

      it('emptyTrash expires more files than one transaction takes (256), counts them all, and leaves no hour directory', async () => {
        const { meta } = v;
        const base = await meta.usage();
        const n = 300;
        for (let i = 0; i < n; i++) {
          await meta.mknod(ROOT_INODE, `many${i}`, reg());
          await meta.unlink(ROOT_INODE, `many${i}`, 0);
        }
        expect(await meta.listTrash()).toHaveLength(n);
        const before = (await meta.changes(0, 1_000_000)).at(-1)?.version ?? 0;
        expect(await meta.emptyTrash(0)).toBe(n);
        // In more than one transaction, so no one of them holds the trash's locks for long.
        expect((await meta.changes(before, 1_000_000)).filter((c) => c.op === 'empty-trash').length).toBeGreaterThan(1);
        expect(await meta.listTrash()).toEqual([]);
        expect(await namesOf(meta, TRASH_INODE)).toEqual([]);
        expect((await meta.usage()).inodes).toBe(base.inodes);
        await expectStatfsConsistent(meta);
      });

      it('expiry removes only the trash entry of a file that gained another name meanwhile', async () => {
        const { meta } = v;
        const f = await meta.mknod(ROOT_INODE, 'kept', reg());
        await write(meta, f.ino, 0, 0, 100);
        await meta.unlink(ROOT_INODE, 'kept', 0);
        const [t] = await meta.listTrash();
        // An administrator links it back out of the trash by hand.
        const [hour, entry] = t.path.split('/');
        const hourDir = await meta.lookup(TRASH_INODE, hour);
        expect((await meta.lookup(hourDir.ino, entry)).ino).toBe(f.ino);
        await meta.link(f.ino, ROOT_INODE, 'linked-back');
        expect(await meta.emptyTrash(0)).toBe(1);
        const still = await meta.lookup(ROOT_INODE, 'linked-back');
        expect([still.ino, still.nlink, still.size]).toEqual([f.ino, 1, 100]);
        expect(await namesOf(meta, TRASH_INODE)).toEqual([]);
        await meta.unlink(ROOT_INODE, 'linked-back', 0, true);
      });

      it('skipTrash, extra hard links and non-regular files bypass the trash', async () => {
        const { meta } = v;
        const f = await meta.mknod(ROOT_INODE, 'f', reg());
        await meta.unlink(ROOT_INODE, 'f', 0, true);
        expect(await codeOf(meta.getattr(f.ino))).toBe('ENOENT');
        const h = await meta.mknod(ROOT_INODE, 'h', reg());
        await meta.link(h.ino, ROOT_INODE, 'h2');
        await meta.unlink(ROOT_INODE, 'h', 0);
        expect((await meta.getattr(h.ino)).nlink).toBe(1);
        const l = await meta.symlink(ROOT_INODE, 'l', 'x', reg(0o777));
        await meta.unlink(ROOT_INODE, 'l', 0);
        expect(await codeOf(meta.getattr(l.ino))).toBe('ENOENT');
        expect(await meta.listTrash()).toEqual([]);
        // The last link goes to the trash.
        await meta.unlink(ROOT_INODE, 'h2', 0);
        expect((await meta.listTrash()).map((t) => [t.ino, t.name])).toEqual([[h.ino, 'h2']]);
        // Turning the trash off makes deletions final.
        await meta.configure({ trashDays: 0 });
        const k = await meta.mknod(ROOT_INODE, 'k', reg());
        await meta.unlink(ROOT_INODE, 'k', 0);
        expect(await codeOf(meta.getattr(k.ino))).toBe('ENOENT');
        expect(await meta.listTrash()).toHaveLength(1);
      });
    });

    describe('persistence', () => {
      const v = volume({ trashDays: 0 });

      it('everything survives close and reopen, and ids are never reused', async (ctx) => {
        if (!v.sut.reopen) {
          ctx.skip();
          return;
        }
        let meta = v.meta;
        const d = await meta.mkdir(ROOT_INODE, 'd', dirn(0o750, 5, 6));
        const f = await meta.mknod(d.ino, 'f', reg(0o640, 7, 8));
        const s1 = await write(meta, f.ino, 0, 0, 1000);
        const s2 = await write(meta, f.ino, 1, 100, 200);
        await meta.setattr(f.ino, { mtimeNs: 1_700_000_000_123_456_789n });
        await meta.setxattr(f.ino, 'user.x', Buffer.from([1, 2, 3]), 0);
        await meta.link(f.ino, ROOT_INODE, 'hard');
        await meta.symlink(d.ino, 'l', '../hard', reg(0o777));
        await meta.mknod(d.ino, 'c', { mode: S_IFCHR | 0o600, uid: 0, gid: 0, rdev: 0x0501 });
        const gone = await meta.mknod(ROOT_INODE, 'gone', reg());
        const g1 = await write(meta, gone.ino, 0, 0, 10);
        await meta.unlink(ROOT_INODE, 'gone', 0);
        await meta.configure({ capacity: 1 << 30 });
        const sess = await meta.newSession({ me: 1 });
        const ids = new Set([s1.id, s2.id, g1.id]);
        for (let i = 0; i < 5; i++) ids.add(await meta.newSliceId());

        const snapshot = async (m: Meta) => {
          const out: Record<string, unknown> = {};
          const walk = async (dir: number, prefix: string) => {
            for (const e of await listAll(m, dir)) {
              const a = await m.getattr(e.ino);
              out[`${prefix}/${e.name}`] = { entry: e, attr: a, x: await m.listxattr(e.ino) };
              if ((a.mode & S_IFMT) === S_IFDIR) await walk(e.ino, `${prefix}/${e.name}`);
              if ((a.mode & S_IFMT) === S_IFLNK) out[`${prefix}/${e.name}:target`] = await m.readlink(e.ino);
              if ((a.mode & S_IFMT) === S_IFREG) out[`${prefix}/${e.name}:chunks`] = await m.chunks(e.ino);
            }
          };
          await walk(ROOT_INODE, '');
          out.root = await m.getattr(ROOT_INODE);
          out.version = await m.version();
          out.oldest = await m.oldestVersion();
          out.changes = await m.changes(0, 100_000);
          out.usage = await m.usage();
          out.statfs = await m.statfs();
          out.pending = await m.pendingSliceDeletes(100);
          out.settings = await m.settings();
          out.sessions = (await m.sessions()).map((s) => [s.id, s.info]);
          out.xattr = Buffer.from(await m.getxattr(f.ino, 'user.x')).toString('hex');
          return out;
        };
        const before = await snapshot(meta);
        meta = await v.reopen();
        expect(await snapshot(meta)).toEqual(before);
        expect(await meta.readChunk(f.ino, 1)).toEqual([s2]);

        // Fresh ids after reopen collide with nothing handed out before.
        const inos = new Set([d.ino, f.ino, gone.ino]);
        for (const e of Object.values(before)) {
          const ino = (e as { attr?: NodeAttr }).attr?.ino;
          if (ino) inos.add(ino);
        }
        for (let i = 0; i < 5; i++) {
          const id = await meta.newSliceId();
          expect(id).toBeGreaterThan(0);
          expect(ids.has(id)).toBe(false);
          ids.add(id);
          const n = await meta.mknod(ROOT_INODE, `new${i}`, reg());
          expect(inos.has(n.ino)).toBe(false);
          inos.add(n.ino);
        }
        // The session outlived the restart (another process may still be using it).
        await meta.heartbeat(sess);
        const versionBefore = await meta.version();
        meta = await v.reopen();
        expect(await meta.version()).toBe(versionBefore);
        expect((await meta.lookup(ROOT_INODE, 'new4')).mode & S_IFMT).toBe(S_IFREG);
      });
    });
  });
}
