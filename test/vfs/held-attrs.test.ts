// chmod, chown and utimes of a file this client just created (what tar, cp -p and rsync do after
// writing each file) are held back and commit with its bytes: this client sees them at once,
// every client sees them after close, or within the attribute-cache time while it stays open —
// and the file costs two metadata transactions (create, commit), not one per call.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { O_CREAT, O_RDWR, O_WRONLY, ROOT_INODE } from '../../src/vfs/constants.js';
import type { Caller } from '../../src/vfs/permissions.js';
import type { Attr } from '../../src/vfs/attr.js';
import type { SetAttr, Vfs } from '../../src/vfs/vfs.js';
import type { Volume } from '../../src/index.js';
import { makeVolume, type TestVolume } from '../sdk/helpers.js';

const root: Caller = { uid: 0, gid: 0, gids: [] };
const T1 = 1_600_000_000_123_456_789n;
const T2 = 1_500_000_000_000_000_001n;

let tv: TestVolume;
let vfs: Vfs;
let other: Volume;

beforeAll(async () => {
  tv = await makeVolume({ attrCacheMs: 400 }, { blockSize: 64 * 1024 });
  vfs = tv.vol.vfs;
  other = await tv.open({ attrCacheMs: 0 });
});

afterAll(async () => {
  await tv.cleanup();
});

function visible(a: Attr): { mode: number; uid: number; gid: number; size: number; atimeNs: bigint; mtimeNs: bigint } {
  return { mode: a.mode, uid: a.uid, gid: a.gid, size: a.size, atimeNs: a.atimeNs, mtimeNs: a.mtimeNs };
}

describe('attribute changes of a new file', () => {
  it('tar-like: create, write, chown, chmod, utimes, close cost two transactions and all show everywhere', async () => {
    const before = await vfs.meta.version();
    const { fh, attr } = await vfs.create(root, ROOT_INODE, 'unpacked', 0o600, O_CREAT | O_WRONLY);
    await vfs.write(fh, 0, Buffer.from('contents of an archived file'));
    await vfs.setattr(root, attr.ino, { uid: 1000, gid: 1001 });
    await vfs.setattr(root, attr.ino, { mode: 0o4755 });
    const mine = await vfs.setattr(root, attr.ino, { atimeNs: T2, mtimeNs: T1 });
    expect(visible(mine)).toEqual({ mode: 0o104755, uid: 1000, gid: 1001, size: 28, atimeNs: T2, mtimeNs: T1 });
    expect(visible(await vfs.getattr(attr.ino))).toEqual(visible(mine));
    await vfs.release(fh);
    expect(await vfs.meta.version()).toBe(before + 2);
    const seen = await other.vfs.getattr(attr.ino);
    expect(visible(seen)).toEqual({ mode: 0o104755, uid: 1000, gid: 1001, size: 28, mtimeNs: T1, atimeNs: T2 });
    expect(seen.ctimeNs).toBeGreaterThanOrEqual(mine.ctimeNs);
  });

  it('an empty new file: the changes commit at close in one transaction', async () => {
    const { fh, attr } = await vfs.create(root, ROOT_INODE, 'empty', 0o600, O_CREAT | O_WRONLY);
    const before = await vfs.meta.version();
    await vfs.setattr(root, attr.ino, { mode: 0o640 });
    await vfs.setattr(root, attr.ino, { atimeNs: T1, mtimeNs: T1 });
    await vfs.release(fh);
    expect(await vfs.meta.version()).toBe(before + 1);
    const seen = await other.vfs.getattr(attr.ino);
    expect([seen.mode & 0o7777, seen.mtimeNs]).toEqual([0o640, T1]);
  });

  it('while the file stays open, another client sees the changes within the attribute-cache time', async () => {
    const { fh, attr } = await vfs.create(root, ROOT_INODE, 'long-lived', 0o600, O_CREAT | O_RDWR);
    await vfs.write(fh, 0, Buffer.from('first'));
    await vfs.fsync(fh);
    await vfs.setattr(root, attr.ino, { mode: 0o644, mtimeNs: T1 });
    const deadline = Date.now() + 2000;
    let seen = await other.vfs.getattr(attr.ino);
    while ((seen.mode & 0o7777) !== 0o644 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      seen = await other.vfs.getattr(attr.ino);
    }
    expect([seen.mode & 0o7777, seen.size, seen.mtimeNs]).toEqual([0o644, 5, T1]);
    await vfs.release(fh);
  });

  it('changes made after buffered bytes commit with them, never before them', async () => {
    const { fh, attr } = await vfs.create(root, ROOT_INODE, 'still-writing', 0o600, O_CREAT | O_RDWR);
    await vfs.write(fh, 0, Buffer.from('buffered'));
    await vfs.setattr(root, attr.ino, { mode: 0o644 });
    await new Promise((r) => setTimeout(r, 600));
    const meanwhile = await other.vfs.getattr(attr.ino);
    expect([meanwhile.mode & 0o7777, meanwhile.size]).toEqual([0o600, 0]);
    await vfs.release(fh);
    const seen = await other.vfs.getattr(attr.ino);
    expect([seen.mode & 0o7777, seen.size]).toEqual([0o644, 8]);
  });

  it('a chmod made while a flush commits earlier ones is not undone by them', async () => {
    const { fh, attr } = await vfs.create(root, ROOT_INODE, 'racing', 0o600, O_CREAT | O_RDWR);
    await vfs.write(fh, 0, Buffer.from('x'));
    await vfs.setattr(root, attr.ino, { mode: 0o640 });
    const flushing = vfs.flush(fh);
    await vfs.setattr(root, attr.ino, { mode: 0o604 });
    await flushing;
    await vfs.setattr(root, attr.ino, { mode: 0o755 });
    expect((await vfs.getattr(attr.ino)).mode & 0o7777).toBe(0o755);
    await vfs.release(fh);
    await new Promise((r) => setTimeout(r, 600));
    expect((await other.vfs.getattr(attr.ino)).mode & 0o7777).toBe(0o755);
  });

  it('a write after utimes makes the mtime the write\'s again; a chmod refused is refused at once', async () => {
    const { fh, attr } = await vfs.create(root, ROOT_INODE, 'rewritten', 0o644, O_CREAT | O_RDWR);
    await vfs.setattr(root, attr.ino, { mtimeNs: T1 });
    await vfs.write(fh, 0, Buffer.from('later'));
    const alice: Caller = { uid: 1000, gid: 1000, gids: [] };
    await expect(vfs.setattr(alice, attr.ino, { mode: 0o777 })).rejects.toMatchObject({ code: 'EPERM' });
    await vfs.release(fh);
    const seen = await other.vfs.getattr(attr.ino);
    expect(seen.mtimeNs).toBeGreaterThan(T1);
    expect(seen.mode & 0o7777).toBe(0o644);
  });

  it('utimes after writes to an existing file (cp -p over it): the times set are the ones kept', async () => {
    const { fh: first, attr } = await vfs.create(root, ROOT_INODE, 'existing', 0o644, O_CREAT | O_RDWR);
    await vfs.release(first);
    const { fh } = await vfs.open(root, attr.ino, O_WRONLY);
    await vfs.write(fh, 0, Buffer.from('replaced'));
    expect((await vfs.setattr(root, attr.ino, { atimeNs: T2, mtimeNs: T1 })).mtimeNs).toBe(T1);
    expect((await vfs.getattr(attr.ino)).mtimeNs).toBe(T1);
    await vfs.release(fh);
    const seen = await other.vfs.getattr(attr.ino);
    expect([seen.size, seen.mtimeNs, seen.atimeNs]).toEqual([8, T1, T2]);
  });

  it('a truncate after a held chmod keeps both, in order', async () => {
    const { fh, attr } = await vfs.create(root, ROOT_INODE, 'cut', 0o644, O_CREAT | O_RDWR);
    await vfs.write(fh, 0, Buffer.alloc(1000, 7));
    await vfs.setattr(root, attr.ino, { mode: 0o600, mtimeNs: T1 });
    const cut = await vfs.setattr(root, attr.ino, { size: 10 }, fh);
    expect([cut.mode & 0o7777, cut.size]).toEqual([0o600, 10]);
    expect(cut.mtimeNs).toBeGreaterThan(T1);
    await vfs.release(fh);
    const seen = await other.vfs.getattr(attr.ino);
    expect([seen.mode & 0o7777, seen.size, seen.mtimeNs]).toEqual([0o600, 10, cut.mtimeNs]);
  });
});

type Op =
  | { kind: 'write'; offset: number; length: number }
  | { kind: 'setattr'; set: SetAttr }
  | { kind: 'truncate'; size: number }
  | { kind: 'fsync' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('write' as const), offset: fc.nat(200_000), length: fc.integer({ min: 1, max: 70_000 }) }),
  fc.record({ kind: fc.constant('setattr' as const), set: fc.oneof(
    fc.record({ mode: fc.integer({ min: 0, max: 0o7777 }) }),
    fc.record({ uid: fc.nat(5000), gid: fc.nat(5000) }),
    fc.record({ atimeNs: fc.bigInt({ min: 0n, max: T1 }), mtimeNs: fc.bigInt({ min: 0n, max: T1 }) }),
  ) }),
  fc.record({ kind: fc.constant('truncate' as const), size: fc.nat(150_000) }),
  fc.record({ kind: fc.constant('fsync' as const) }),
);

describe('held changes against changes committed one by one (model: a client that holds nothing)', () => {
  it('every step shows the same attributes here, and the same file everywhere after close', async () => {
    const reference = await makeVolume({ attrCacheMs: 0 }, { blockSize: 64 * 1024 });
    try {
      let n = 0;
      await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 12 }), async (ops) => {
        const name = `model-${n++}`;
        const sides = [{ v: vfs, reader: other }, { v: reference.vol.vfs, reader: reference.vol }];
        const opened = await Promise.all(sides.map((s) => s.v.create(root, ROOT_INODE, name, 0o644, O_CREAT | O_RDWR)));
        let explicitMtime = false;
        for (const op of ops) {
          const after: Attr[] = [];
          for (const [i, s] of sides.entries()) {
            const { fh, attr } = opened[i]!;
            if (op.kind === 'write') await s.v.write(fh, op.offset, Buffer.alloc(op.length, op.offset % 251));
            else if (op.kind === 'setattr') await s.v.setattr(root, attr.ino, op.set);
            else if (op.kind === 'truncate') await s.v.setattr(root, attr.ino, { size: op.size }, fh);
            else await s.v.fsync(fh);
            after.push(await s.v.getattr(attr.ino));
          }
          if (op.kind === 'setattr' && op.set.mtimeNs !== undefined) explicitMtime = true;
          if (op.kind === 'write' || op.kind === 'truncate') explicitMtime = false;
          const [a, b] = after.map((x) => ({ ...visible(x), mtimeNs: explicitMtime ? x.mtimeNs : 0n, atimeNs: 0n }));
          expect(a).toEqual(b);
        }
        for (const [i, s] of sides.entries()) await s.v.release(opened[i]!.fh);
        const [a, b] = await Promise.all(sides.map(async (s) => {
          const st = await s.reader.vfs.getattr((await s.reader.vfs.lookup(root, ROOT_INODE, name)).ino);
          return { mode: st.mode, uid: st.uid, gid: st.gid, size: st.size, mtimeNs: explicitMtime ? st.mtimeNs : 0n, data: await s.reader.readFile(`/${name}`) };
        }));
        expect(a).toEqual(b);
      }), { numRuns: 40 });
    } finally {
      await reference.cleanup();
    }
  }, 120_000);
});
