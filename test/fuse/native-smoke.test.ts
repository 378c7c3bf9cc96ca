// The native FUSE addon end to end: a tiny in-memory file system served by a JS handler is
// mounted for real and used through the kernel. Only async fs calls touch the mount: a
// synchronous one from this (the serving) thread would deadlock the process.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { mkdtemp, open, readdir, readFile, rm, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { constants as osc, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { need } from '../helpers/require.js';
import { fuseUnavailable, loadFuse, type FuseAttr, type FuseCall, type FuseSession } from '../../src/fuse/native.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const ROOT = 1;
const { ENOENT, ENOSYS, EEXIST } = osc.errno;

const fuse = need('FUSE', fuseUnavailable());

interface Node {
  ino: number;
  mode: number;
  data: Buffer; // capacity; the first `size` bytes are the content
  size: number;
  mtimeNs: bigint;
  /** Served by replyData from this file instead of from memory. */
  backing?: FileHandle;
}

/** A flat in-memory file system: one root directory, regular files only. */
class MemFs {
  readonly nodes = new Map<number, Node>();
  readonly root = new Map<string, number>();
  #nextIno = 2;
  #nextFh = 1;
  session: FuseSession | null = null;
  /** The next request of this op makes the handler throw. */
  failOp: string | null = null;
  /** Writes take their bytes and answer this many ms later (at random up to it), as a file
   * system that waits for memory or metadata does. */
  lateWritesMs = 0;
  writesInFlight = 0;
  maxWritesInFlight = 0;

  constructor() {
    this.nodes.set(ROOT, { ino: ROOT, mode: S_IFDIR | 0o755, data: Buffer.alloc(0), size: 0, mtimeNs: now() });
  }

  add(name: string, content: Buffer, backing?: FileHandle): Node {
    const node: Node = { ino: this.#nextIno++, mode: S_IFREG | 0o644, data: Buffer.from(content), size: content.length, mtimeNs: now(), backing };
    this.nodes.set(node.ino, node);
    this.root.set(name, node.ino);
    return node;
  }

  attr(node: Node): FuseAttr {
    return {
      ino: node.ino,
      mode: node.mode,
      nlink: node.ino === ROOT ? 2 : 1,
      uid: 0,
      gid: 0,
      size: node.size,
      atimeNs: node.mtimeNs,
      mtimeNs: node.mtimeNs,
      ctimeNs: node.mtimeNs,
    };
  }

  truncate(node: Node, size: number): void {
    if (size > node.data.length) {
      const grown = Buffer.alloc(Math.max(size, node.data.length * 2));
      node.data.copy(grown, 0, 0, node.size);
      node.data = grown;
    } else if (size > node.size) {
      node.data.fill(0, node.size, size);
    }
    node.size = size;
    node.mtimeNs = now();
  }

  handle = (...call: FuseCall): void => {
    const s = this.session!;
    if (this.failOp === call[0]) {
      this.failOp = null;
      throw new Error('boom');
    }
    switch (call[0]) {
      case 'lookup': {
        const [, req, , parent, name] = call;
        const ino = parent === ROOT ? this.root.get(name) : undefined;
        if (ino === undefined) s.replyErr(req, ENOENT);
        else s.replyEntry(req, this.attr(this.nodes.get(ino)!), 0, 0);
        return;
      }
      case 'getattr': {
        const [, req, , ino] = call;
        const node = this.nodes.get(ino);
        if (!node) s.replyErr(req, ENOENT);
        else s.replyAttr(req, this.attr(node), 0);
        return;
      }
      case 'setattr': {
        const [, req, , ino, attr] = call;
        const node = this.nodes.get(ino);
        if (!node) return void s.replyErr(req, ENOENT);
        if (attr.size !== undefined) this.truncate(node, attr.size);
        if (attr.mode !== undefined) node.mode = (node.mode & ~0o7777) | (attr.mode & 0o7777);
        s.replyAttr(req, this.attr(node), 0);
        return;
      }
      case 'open': {
        const [, req, , ino, flags] = call;
        const node = this.nodes.get(ino);
        if (!node) return void s.replyErr(req, ENOENT);
        if (flags & fsc.O_TRUNC) this.truncate(node, 0);
        s.replyOpen(req, this.#nextFh++);
        return;
      }
      case 'create': {
        const [, req, , parent, name, mode] = call;
        if (parent !== ROOT) return void s.replyErr(req, ENOENT);
        if (this.root.has(name)) return void s.replyErr(req, EEXIST);
        const node = this.add(name, Buffer.alloc(0));
        node.mode = S_IFREG | (mode & 0o7777);
        s.replyCreate(req, this.attr(node), 0, 0, this.#nextFh++);
        return;
      }
      case 'read': {
        const [, req, , ino, , size, offset] = call;
        const node = this.nodes.get(ino);
        if (!node) return void s.replyErr(req, ENOENT);
        if (node.backing) return void s.replyData(req, node.backing.fd, offset, size);
        const start = Math.min(offset, node.size);
        s.replyBuf(req, node.data.subarray(start, Math.min(node.size, offset + size)));
        return;
      }
      case 'write': {
        const [, req, , ino, , data, offset] = call;
        const node = this.nodes.get(ino);
        if (!node) return void s.replyErr(req, ENOENT);
        const take = (): void => {
          const end = offset + data.length;
          if (end > node.size) this.truncate(node, end);
          node.data.set(data, offset);
          s.replyWrite(req, data.length);
        };
        if (this.lateWritesMs === 0) return take();
        this.maxWritesInFlight = Math.max(this.maxWritesInFlight, ++this.writesInFlight);
        setTimeout(() => {
          this.writesInFlight--;
          take();
        }, Math.random() * this.lateWritesMs);
        return;
      }
      case 'unlink': {
        const [, req, , parent, name] = call;
        const ino = parent === ROOT ? this.root.get(name) : undefined;
        if (ino === undefined) return void s.replyErr(req, ENOENT);
        this.root.delete(name);
        this.nodes.delete(ino);
        s.replyNone(req);
        return;
      }
      case 'opendir': {
        const [, req, , ino] = call;
        if (ino !== ROOT) return void s.replyErr(req, ENOENT);
        s.replyOpen(req, 0);
        return;
      }
      case 'readdir': {
        const [, req, , , , size, offset] = call;
        const all = [
          { name: '.', ino: ROOT, mode: S_IFDIR },
          { name: '..', ino: ROOT, mode: S_IFDIR },
          ...[...this.root].map(([name, ino]) => ({ name, ino, mode: this.nodes.get(ino)!.mode })),
        ];
        s.replyReaddir(req, all.slice(offset).map((e, k) => ({ ...e, off: offset + k + 1 })), size);
        return;
      }
      case 'flush': case 'release': case 'releasedir': case 'fsync': case 'access':
        s.replyNone(call[1]);
        return;
      default:
        s.replyErr(call[1], ENOSYS);
    }
  };
}

function now(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

async function mountedHere(dir: string): Promise<boolean> {
  const mounts = await readFile('/proc/self/mountinfo', 'utf8');
  return mounts.split('\n').some((line) => line.split(' ')[4] === dir);
}

describe.skipIf(fuse.skip)('native FUSE session (libfuse low-level, async bridge)', () => {
  beforeAll(() => fuse.check());
  let work: string;
  let mp: string;
  let fs: MemFs;
  let session: FuseSession | null = null;
  let backingFile: FileHandle | null = null;
  const handlerErrors: [string, string][] = [];
  const backed = randomBytes(2 * MiB + 12345);

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'strata-fuse-smoke-'));
    mp = join(work, 'mnt');
    await run('mkdir', [mp]);
    await writeFile(join(work, 'backing.bin'), backed);
    backingFile = await open(join(work, 'backing.bin'), 'r');

    fs = new MemFs();
    fs.add('hello', Buffer.from('hello world\n'));
    fs.add('backed.bin', backed, backingFile);
    const { FuseSession } = loadFuse();
    session = new FuseSession(mp, ['-o', 'fsname=strata-smoke,default_permissions'], fs.handle, {
      onError: (err, op) => handlerErrors.push([op, (err as Error).message]),
    });
    fs.session = session;
  });

  afterAll(async () => {
    // Whatever failed above, leave no mount behind.
    if (session?.mounted) {
      const forced = session.unmount({ force: true });
      await Promise.race([forced, new Promise((r) => setTimeout(r, 5000))]);
    }
    if (mp && (await mountedHere(mp).catch(() => false))) {
      await run('fusermount3', ['-u', '-z', mp]).catch(() => run('umount', ['-l', mp]).catch(() => undefined));
    }
    await backingFile?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('lists the root directory', async () => {
    expect(session!.mounted).toBe(true);
    const names = await readdir(mp);
    expect(names.sort()).toEqual(['backed.bin', 'hello']);
  });

  it('reads a file held in JS memory', async () => {
    expect(await readFile(join(mp, 'hello'), 'utf8')).toBe('hello world\n');
    expect((await stat(join(mp, 'hello'))).size).toBe(12);
  });

  it('creates, writes and reads back a new file', async () => {
    await writeFile(join(mp, 'new.txt'), 'fresh data');
    expect(await readFile(join(mp, 'new.txt'), 'utf8')).toBe('fresh data');
    const st = await stat(join(mp, 'new.txt'));
    expect(st.isFile()).toBe(true);
    expect(st.size).toBe(10);
    // Rewriting goes through open(O_TRUNC) on the existing inode.
    await writeFile(join(mp, 'new.txt'), 'short');
    expect(await readFile(join(mp, 'new.txt'), 'utf8')).toBe('short');
  });

  it('round-trips 3 MiB byte-exact (big writes in, replyBuf out)', async () => {
    const big = randomBytes(3 * MiB);
    await writeFile(join(mp, 'big.bin'), big);
    expect((await stat(join(mp, 'big.bin'))).size).toBe(3 * MiB);
    const back = await readFile(join(mp, 'big.bin'));
    expect(back.length).toBe(big.length);
    expect(back.equals(big)).toBe(true);
  });

  it('keeps every write payload intact until it is answered, with more writes in flight than payload slots', async () => {
    // 100 processes each copy 1 MiB and more while every write is answered up to 100 ms late: the
    // native core's 64 reused payload slots are all taken, and later payloads get memory of their own.
    const files = Array.from({ length: 100 }, (_, i) => ({ name: `par${i}.bin`, bytes: randomBytes(MiB + i * 4099) }));
    await Promise.all(files.map((f) => writeFile(join(work, f.name), f.bytes)));
    fs.lateWritesMs = 100;
    try {
      // On a loaded 2-core machine the copies may start too far apart to fill every slot at once;
      // copying again (the same bytes) until they have is what this test needs, not a timing.
      fs.maxWritesInFlight = 0;
      for (let round = 0; round === 0 || (round < 5 && fs.maxWritesInFlight <= 64); round++) {
        await Promise.all(files.map((f) => run('cp', [join(work, f.name), join(mp, f.name)])));
      }
    } finally {
      fs.lateWritesMs = 0;
    }
    try {
      expect(fs.maxWritesInFlight).toBeGreaterThan(64);
      expect(session!.nativeState().writesWithoutSlot).toBeGreaterThan(0);
      for (const f of files) {
        const back = await readFile(join(mp, f.name));
        expect(back.length).toBe(f.bytes.length);
        expect(back.equals(f.bytes)).toBe(true);
      }
    } finally {
      for (const f of files) await unlink(join(mp, f.name));
    }
  });

  it('serves reads from a file descriptor (replyData)', async () => {
    const back = await readFile(join(mp, 'backed.bin'));
    expect(back.length).toBe(backed.length);
    expect(back.equals(backed)).toBe(true);
  });

  it('unlinks', async () => {
    await unlink(join(mp, 'new.txt'));
    await expect(stat(join(mp, 'new.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await readdir(mp)).sort()).toEqual(['backed.bin', 'big.bin', 'hello']);
  });

  it('answers EIO when the handler throws, and keeps serving', async () => {
    fs.failOp = 'open';
    await expect(readFile(join(mp, 'hello'))).rejects.toMatchObject({ code: 'EIO' });
    expect(handlerErrors).toEqual([['open', 'boom']]);
    expect(await readFile(join(mp, 'hello'), 'utf8')).toBe('hello world\n');
    expect(session!.pending).toBe(0);
  });

  it('unmounts and leaves an empty ordinary directory', async () => {
    await session!.unmount();
    expect(session!.mounted).toBe(false);
    expect(await mountedHere(mp)).toBe(false);
    expect(await readdir(mp)).toEqual([]);
    expect((await stat(mp)).isDirectory()).toBe(true);
    expect(() => session!.replyErr(1, ENOENT)).toThrow(/closed/);
  });
});
