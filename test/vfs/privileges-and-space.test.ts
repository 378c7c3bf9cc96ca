// POSIX rules the outside suites found missing: a write or truncate by a non-owner with write
// permission drops setuid/setgid instead of failing; a setattr that is refused changes nothing
// (the size included); fallocate's modes; st_blocks and used space count stored bytes, not holes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { O_CREAT, O_RDONLY, O_RDWR, O_WRONLY, ROOT_INODE } from '../../src/vfs/constants.js';
import type { Caller } from '../../src/vfs/permissions.js';
import type { Vfs } from '../../src/vfs/vfs.js';
import { makeVolume, type TestVolume } from '../sdk/helpers.js';

const root: Caller = { uid: 0, gid: 0, gids: [] };
const alice: Caller = { uid: 1000, gid: 1000, gids: [] };
const bob: Caller = { uid: 2000, gid: 2000, gids: [] };
const MiB = 1024 * 1024;
const FALLOC_FL_KEEP_SIZE = 0x01;
const FALLOC_FL_PUNCH_HOLE = 0x02;
const FALLOC_FL_COLLAPSE_RANGE = 0x08;
const FALLOC_FL_ZERO_RANGE = 0x10;
const FALLOC_FL_INSERT_RANGE = 0x20;

let tv: TestVolume;
let vfs: Vfs;
let n = 0;
/** A directory everyone may create in (the root is 0755, root's). */
let shared: number;

beforeAll(async () => {
  tv = await makeVolume({}, { blockSize: 64 * 1024 });
  vfs = tv.vol.vfs;
  shared = (await vfs.mkdir(root, ROOT_INODE, 'shared', 0o777)).ino;
});

afterAll(async () => {
  await tv.cleanup();
});

/** A file owned by alice with `mode`, holding `content`. */
async function aliceFile(mode: number, content = 'hello'): Promise<number> {
  const { fh, attr } = await vfs.create(alice, shared, `f${n++}`, 0o644, O_CREAT | O_RDWR);
  await vfs.write(fh, 0, Buffer.from(content));
  await vfs.release(fh);
  await vfs.setattr(alice, attr.ino, { mode });
  return attr.ino;
}

const perms = async (ino: number) => (await vfs.getattr(ino)).mode & 0o7777;
const codeOf = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string }) => e.code ?? String(e));

describe('setuid and setgid on write and truncate', () => {
  it('a write by a non-owner with write permission succeeds and drops setuid, and setgid when group-executable or the writer is not in the group', async () => {
    for (const [mode, after] of [[0o6777, 0o777], [0o4777, 0o777], [0o2777, 0o777], [0o2767, 0o767]] as const) {
      const ino = await aliceFile(mode);
      const { fh } = await vfs.open(bob, ino, O_WRONLY);
      await vfs.write(fh, 5, Buffer.from(' world'));
      await vfs.release(fh);
      expect([mode.toString(8), (await perms(ino)).toString(8)]).toEqual([mode.toString(8), after.toString(8)]);
      expect(await tv.vol.readFile(`/shared/f${n - 1}`, 'utf8')).toBe('hello world');
    }
  });

  it('a group member keeps setgid without group execute (it marks mandatory locking)', async () => {
    const ino = await aliceFile(0o2767);
    const member: Caller = { uid: 3000, gid: 1000, gids: [] };
    const { fh } = await vfs.open(member, ino, O_WRONLY);
    await vfs.write(fh, 0, Buffer.from('H'));
    await vfs.release(fh);
    expect(await perms(ino)).toBe(0o2767);
  });

  it('root keeps the bits when it writes (it has CAP_FSETID)', async () => {
    const ino = await aliceFile(0o6777);
    const { fh } = await vfs.open(root, ino, O_WRONLY);
    await vfs.write(fh, 0, Buffer.from('H'));
    await vfs.release(fh);
    expect(await perms(ino)).toBe(0o6777);
  });

  it('truncate by a non-owner: with write permission it succeeds and drops setuid; without, it changes nothing', async () => {
    const writable = await aliceFile(0o4777);
    await vfs.truncate(bob, writable, 2);
    expect([(await vfs.getattr(writable)).size, await perms(writable)]).toEqual([2, 0o777]);

    const locked = await aliceFile(0o4755);
    expect(await codeOf(vfs.truncate(bob, locked, 2))).toBe('EACCES');
    expect([(await vfs.getattr(locked)).size, await perms(locked)]).toEqual([5, 0o4755]);
  });

  it('a setattr refused in one part changes no other part: size, mode and times stay as they were', async () => {
    const ino = await aliceFile(0o4777);
    const before = await vfs.getattr(ino);
    // bob may truncate (write permission) but not chmod (not the owner): nothing happens.
    expect(await codeOf(vfs.setattr(bob, ino, { size: 1, mode: 0o700 }))).toBe('EPERM');
    expect(await codeOf(vfs.setattr(bob, ino, { size: 1, atimeNs: 5n }))).toBe('EPERM');
    const after = await vfs.getattr(ino);
    expect([after.size, after.mode, after.mtimeNs, after.atimeNs]).toEqual([before.size, before.mode, before.mtimeNs, before.atimeNs]);
  });

  it('dropPrivileges (what the kernel asks before a write) needs write permission', async () => {
    const ino = await aliceFile(0o4755);
    expect(await codeOf(vfs.setattr(bob, ino, { dropPrivileges: true }))).toBe('EPERM');
    expect(await perms(ino)).toBe(0o4755);
    const open = await aliceFile(0o4777);
    await vfs.setattr(bob, open, { dropPrivileges: true });
    expect(await perms(open)).toBe(0o777);
  });
});

describe('fallocate', () => {
  async function file(bytes: Buffer): Promise<{ fh: number; ino: number }> {
    const { fh, attr } = await vfs.create(root, ROOT_INODE, `fa${n++}`, 0o644, O_CREAT | O_RDWR);
    await vfs.write(fh, 0, bytes);
    return { fh, ino: attr.ino };
  }
  const read = async (fh: number, size: number) => {
    const buf = Buffer.alloc(size + 10);
    return buf.subarray(0, await vfs.read(fh, 0, buf));
  };

  it('allocates (growing unless KEEP_SIZE), punches holes and zeroes ranges, including bytes still buffered', async () => {
    const data = Buffer.alloc(300_000, 7);
    const { fh } = await file(data);
    // The write is still buffered: the hole must hide it too.
    await vfs.fallocate(fh, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 1000, 2000);
    data.fill(0, 1000, 3000);
    expect((await read(fh, 300_000)).equals(data)).toBe(true);
    expect((await vfs.fallocate(fh, 0, 290_000, 20_000)).size).toBe(310_000);
    expect((await vfs.fallocate(fh, FALLOC_FL_KEEP_SIZE, 400_000, 20_000)).size).toBe(310_000);
    const z = await vfs.fallocate(fh, FALLOC_FL_ZERO_RANGE, 200_000, 150_000);
    expect(z.size).toBe(350_000);
    const want = Buffer.concat([data.subarray(0, 200_000), Buffer.alloc(150_000)]);
    expect((await read(fh, 350_000)).equals(want)).toBe(true);
    await vfs.release(fh);
  });

  it('refuses what Linux refuses: collapse/insert and punch without KEEP_SIZE (EOPNOTSUPP), bad ranges (EINVAL), read-only handles (EBADF)', async () => {
    const { fh, ino } = await file(Buffer.alloc(10_000, 1));
    expect(await codeOf(vfs.fallocate(fh, FALLOC_FL_COLLAPSE_RANGE, 0, 4096))).toBe('EOPNOTSUPP');
    expect(await codeOf(vfs.fallocate(fh, FALLOC_FL_INSERT_RANGE, 0, 4096))).toBe('EOPNOTSUPP');
    expect(await codeOf(vfs.fallocate(fh, FALLOC_FL_PUNCH_HOLE, 0, 4096))).toBe('EOPNOTSUPP');
    expect(await codeOf(vfs.fallocate(fh, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, 4096))).toBe('EOPNOTSUPP');
    expect(await codeOf(vfs.fallocate(fh, 0, -1, 4096))).toBe('EINVAL');
    expect(await codeOf(vfs.fallocate(fh, 0, 0, 0))).toBe('EINVAL');
    const { fh: ro } = await vfs.open(root, ino, O_RDONLY);
    expect(await codeOf(vfs.fallocate(ro, 0, 0, 4096))).toBe('EBADF');
    await vfs.release(ro);
    await vfs.release(fh);
    expect((await vfs.getattr(ino)).size).toBe(10_000);
  });
});

describe('space counts stored bytes, not holes', () => {
  it('1 MiB written at 10 GiB: st_blocks and used space grow by 1 MiB; punching it out frees it', async () => {
    const before = (await tv.vol.vfs.meta.usage()).usedBytes;
    const { fh, attr } = await vfs.create(root, ROOT_INODE, 'sparse', 0o644, O_CREAT | O_RDWR);
    await vfs.write(fh, 10 * 1024 * MiB, Buffer.alloc(MiB, 1));
    // Buffered bytes already count, then committed ones.
    expect((await vfs.getattr(attr.ino)).blocks).toBe(2048);
    await vfs.fsync(fh);
    const a = await vfs.getattr(attr.ino);
    expect([a.size, a.blocks]).toEqual([10 * 1024 * MiB + MiB, 2048]);
    expect((await tv.vol.stat('/sparse')).blocks).toBe(2048);
    expect((await tv.vol.vfs.meta.usage()).usedBytes - before).toBe(MiB);
    await vfs.fallocate(fh, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 10 * 1024 * MiB, MiB);
    expect((await vfs.getattr(attr.ino)).blocks).toBe(0);
    expect((await tv.vol.vfs.meta.usage()).usedBytes).toBe(before);
    await vfs.release(fh);
  });

  it('overwriting the same bytes does not count them twice', async () => {
    const { fh, attr } = await vfs.create(root, ROOT_INODE, 'rewritten', 0o644, O_CREAT | O_RDWR);
    for (let i = 0; i < 5; i++) {
      await vfs.write(fh, 0, Buffer.alloc(100_000, i));
      await vfs.fsync(fh);
    }
    expect((await vfs.getattr(attr.ino)).blocks).toBe(Math.ceil(100_000 / 4096) * 8);
    await vfs.release(fh);
  });
});
