// The vfs at inode level, as the FUSE bridge will call it: handles, shared writers, appends,
// readdir cookies, rename flags, and errors carrying errno codes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { O_APPEND, O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_WRONLY, RENAME_EXCHANGE, RENAME_NOREPLACE, ROOT_INODE } from '../../src/vfs/constants.js';
import type { Caller } from '../../src/vfs/permissions.js';
import type { Vfs } from '../../src/vfs/vfs.js';
import { makeVolume, type TestVolume } from '../sdk/helpers.js';

let tv: TestVolume;
let vfs: Vfs;
const me: Caller = { uid: 0, gid: 0, gids: [] };

beforeAll(async () => {
  tv = await makeVolume({}, { blockSize: 64 * 1024 });
  vfs = tv.vol.vfs;
});

afterAll(async () => {
  await tv.cleanup();
});

describe('handles and data', () => {
  it('two handles of one inode share buffered data; getattr sees the pending length', async () => {
    const { fh: a, attr } = await vfs.create(me, ROOT_INODE, 'shared', 0o644, O_CREAT | O_RDWR);
    const { fh: b } = await vfs.open(me, attr.ino, O_RDONLY);
    await vfs.write(a, 0, Buffer.from('hello'));
    expect((await vfs.getattr(attr.ino)).size).toBe(5);
    const buf = Buffer.alloc(10);
    expect(await vfs.read(b, 0, buf)).toBe(5);
    expect(buf.subarray(0, 5).toString()).toBe('hello');
    await vfs.release(a);
    await vfs.release(b);
    await expect(vfs.read(b, 0, buf)).rejects.toMatchObject({ code: 'EBADF' });
  });

  it('O_APPEND writes from concurrent handles all land at the end, none overwritten', async () => {
    const { fh: a, attr } = await vfs.create(me, ROOT_INODE, 'log', 0o644, O_CREAT | O_WRONLY | O_APPEND);
    const { fh: b } = await vfs.open(me, attr.ino, O_WRONLY | O_APPEND);
    const writes: Promise<number>[] = [];
    for (let i = 0; i < 50; i++) writes.push(vfs.write(i % 2 ? a : b, 0, Buffer.from(`${String(i).padStart(3, '0')}\n`)));
    await Promise.all(writes);
    await vfs.release(a);
    await vfs.release(b);
    const text = (await tv.vol.readFile('/log', 'utf8')).trim().split('\n').sort();
    expect(text).toEqual(Array.from({ length: 50 }, (_, i) => String(i).padStart(3, '0')));
  });

  it('create with O_EXCL fails on an existing name; without it opens the file', async () => {
    await expect(vfs.create(me, ROOT_INODE, 'log', 0o644, O_CREAT | O_EXCL | O_WRONLY)).rejects.toMatchObject({ code: 'EEXIST' });
    const r = await vfs.create(me, ROOT_INODE, 'log', 0o644, O_CREAT | O_RDONLY);
    expect(r.created).toBe(false);
    await vfs.release(r.fh);
  });

  it('rejects bad offsets and names with errno codes', async () => {
    const { fh } = await vfs.create(me, ROOT_INODE, 'bad', 0o644, O_CREAT | O_RDWR);
    await expect(vfs.write(fh, -1, Buffer.from('x'))).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(vfs.read(fh, -1, Buffer.alloc(1))).rejects.toMatchObject({ code: 'EINVAL' });
    await vfs.release(fh);
    await expect(vfs.mkdir(me, ROOT_INODE, 'x'.repeat(256), 0o755)).rejects.toMatchObject({ code: 'ENAMETOOLONG' });
    await expect(vfs.mkdir(me, ROOT_INODE, 'a/b', 0o755)).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(vfs.truncate(me, (await vfs.lookup(me, ROOT_INODE, 'bad')).ino, -1)).rejects.toMatchObject({ code: 'EINVAL' });
  });
});

describe('namespace', () => {
  it('readdir cookies resume where they left off, even when entries are added meanwhile', async () => {
    const dir = await vfs.mkdir(me, ROOT_INODE, 'many', 0o755);
    for (let i = 0; i < 30; i++) await vfs.mknod(me, dir.ino, `f${i}`, 0o100644, 0);
    const seen: string[] = [];
    let cookie = 0;
    for (;;) {
      const page = await vfs.readdir(me, dir.ino, cookie, 7);
      if (page.length === 0) break;
      for (const e of page) if (e.name !== '.' && e.name !== '..') seen.push(e.name);
      cookie = page[page.length - 1].cookie;
      if (seen.length === 14) await vfs.mknod(me, dir.ino, 'late', 0o100644, 0);
    }
    const names = seen.filter((n) => n !== 'late');
    expect(new Set(names).size).toBe(names.length);
    expect(names.sort()).toEqual(Array.from({ length: 30 }, (_, i) => `f${i}`).sort());
  });

  it('rename with RENAME_NOREPLACE and RENAME_EXCHANGE', async () => {
    const a = await vfs.mknod(me, ROOT_INODE, 'ra', 0o100644, 0);
    const b = await vfs.mknod(me, ROOT_INODE, 'rb', 0o100644, 0);
    await expect(vfs.rename(me, ROOT_INODE, 'ra', ROOT_INODE, 'rb', RENAME_NOREPLACE)).rejects.toMatchObject({ code: 'EEXIST' });
    await vfs.rename(me, ROOT_INODE, 'ra', ROOT_INODE, 'rb', RENAME_EXCHANGE);
    expect((await vfs.lookup(me, ROOT_INODE, 'ra')).ino).toBe(b.ino);
    expect((await vfs.lookup(me, ROOT_INODE, 'rb')).ino).toBe(a.ino);
    await expect(vfs.rename(me, ROOT_INODE, 'ra', ROOT_INODE, 'rb', RENAME_EXCHANGE | RENAME_NOREPLACE)).rejects.toMatchObject({ code: 'EINVAL' });
  });

  it('access, readlink and statfs by inode', async () => {
    const link = await vfs.symlink(me, ROOT_INODE, 'lnk', '/target');
    expect(await vfs.readlink(me, link.ino)).toBe('/target');
    await expect(vfs.readlink(me, ROOT_INODE)).rejects.toMatchObject({ code: 'EINVAL' });
    const other: Caller = { uid: 4242, gid: 4242, gids: [] };
    const f = await vfs.mknod(me, ROOT_INODE, 'private', 0o100600, 0);
    await expect(vfs.access(other, f.ino, 4)).rejects.toMatchObject({ code: 'EACCES' });
    await vfs.access(me, f.ino, 6);
    expect((await vfs.statfs(me, ROOT_INODE)).files).toBeGreaterThan(0);
  });
});
