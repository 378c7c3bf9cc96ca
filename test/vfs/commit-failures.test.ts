// A commit that fails (capacity reached, a locked database) leaves the written bytes buffered for
// the next flush: once that flush commits them they are the file's, and nothing may reclaim their
// objects. Slices a writer gives up on (closed with its commit still failing) are reclaimed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { O_CREAT, O_RDWR, ROOT_INODE } from '../../src/vfs/constants.js';
import type { Caller } from '../../src/vfs/permissions.js';
import type { Vfs } from '../../src/vfs/vfs.js';
import { makeVolume, type TestVolume } from '../sdk/helpers.js';

const root: Caller = { uid: 0, gid: 0, gids: [] };
const MiB = 1024 * 1024;

let tv: TestVolume;
let vfs: Vfs;

beforeAll(async () => {
  tv = await makeVolume({}, { blockSize: 256 * 1024 });
  vfs = tv.vol.vfs;
});

afterAll(async () => {
  await tv.cleanup();
});

const codeOf = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string }) => e.code ?? String(e));

describe('failed commits', () => {
  it('a slice whose commit failed, then succeeded on the next flush, keeps its objects through reclaim', async () => {
    const data = Buffer.alloc(3 * MiB);
    for (let i = 0; i < data.length; i += 4) data.writeUInt32LE(i, i);
    const { fh } = await vfs.create(root, ROOT_INODE, 'retried', 0o644, O_CREAT | O_RDWR);
    await vfs.meta.configure({ capacity: MiB });
    await vfs.write(fh, 0, data);
    expect(await codeOf(vfs.fsync(fh))).toBe('ENOSPC');
    await vfs.meta.configure({ capacity: 0 });
    await vfs.fsync(fh);
    // Every slice queued for deletion goes now; none of them may be the file's.
    await vfs.reclaim();
    expect((await vfs.meta.usage()).pendingSlices).toBe(0);
    const back = Buffer.alloc(data.length);
    expect(await vfs.read(fh, 0, back)).toBe(data.length);
    expect(back.equals(data)).toBe(true);
    await vfs.release(fh);
    // And from a fresh client, from the store itself.
    const other = await tv.open();
    expect((await other.readFile('/retried')).equals(data)).toBe(true);
  });

  it('a writer closed while its commit still fails gives its slices up: they are reclaimed, the close reports the error', async () => {
    const before = (await vfs.meta.usage()).pendingSlices;
    const { fh } = await vfs.create(root, ROOT_INODE, 'abandoned', 0o644, O_CREAT | O_RDWR);
    await vfs.meta.configure({ capacity: 1 });
    await vfs.write(fh, 0, Buffer.alloc(MiB, 1));
    expect(await codeOf(vfs.release(fh))).toBe('ENOSPC');
    await vfs.meta.configure({ capacity: 0 });
    expect((await vfs.meta.usage()).pendingSlices).toBeGreaterThan(before);
    expect((await vfs.meta.getattr((await vfs.meta.lookup(ROOT_INODE, 'abandoned')).ino)).size).toBe(0);
  });

  it('metadata refuses to commit a slice already queued for deletion (its objects may be gone)', async () => {
    const f = await vfs.meta.mknod(ROOT_INODE, 'queued', { mode: 0o100644, uid: 0, gid: 0 });
    const id = await vfs.meta.newSliceId();
    await vfs.meta.abandonSlice({ id, size: 100 });
    expect(await codeOf(vfs.meta.commitSlice(f.ino, 0, { id, size: 100, pos: 0, off: 0, len: 100 }, 100))).toBe('EIO');
    expect((await vfs.meta.getattr(f.ino)).size).toBe(0);
  });
});
