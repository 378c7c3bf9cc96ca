// open() reads a file's attributes, and the reads after it start from what it read. A change this
// process makes to the file while the open is under way must still show on the first read: a
// truncate, a rewrite, or the flush of another handle's writes as it closes. Each change is held
// right inside open's attribute read (a hook on this vfs's metadata calls), the place where two
// calls running at once can meet. And a handle already open, which may have read a newer length
// than the open did meanwhile, keeps it; and a read's fetch that an open overtook is not kept for
// the reads after that open.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { O_CREAT, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, ROOT_INODE } from '../../src/vfs/constants.js';
import type { MetaPort } from '../../src/vfs/meta-port.js';
import type { Caller } from '../../src/vfs/permissions.js';
import { Vfs } from '../../src/vfs/vfs.js';
import { makeVolume, type TestVolume } from '../sdk/helpers.js';

const root: Caller = { uid: 0, gid: 0, gids: [] };
/** How long a read reuses attributes it (or open) fetched. */
const CACHE_MS = 300;

let tv: TestVolume;
let vfs: Vfs;
/** Runs once, after the next metadata read of `ino`'s attributes and before its caller sees them. */
let during: { ino: number; change: () => Promise<unknown> } | null = null;

beforeAll(async () => {
  tv = await makeVolume();
  const base = tv.vol.vfs.meta;
  const meta = new Proxy(base, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      if (prop !== 'getattr') return value.bind(target);
      return async (ino: number) => {
        const attr: unknown = await value.call(target, ino);
        const hook = during;
        if (hook && hook.ino === ino) {
          during = null;
          await hook.change();
        }
        return attr;
      };
    },
  }) as MetaPort;
  vfs = await Vfs.start(meta, tv.vol.vfs.store, { attrCacheMs: CACHE_MS });
});

afterAll(async () => {
  await vfs?.close();
  await tv?.cleanup();
});

/** Long enough for attributes a read or open fetched to be asked for again. */
const attributesDue = () => new Promise((resolve) => setTimeout(resolve, CACHE_MS + 50));

/** `/name` holding "hello", open as handle A, which has read its 5 bytes and whose attributes are
 * due again. The next fetch of its attributes is held while another client appends " world" and
 * `then` runs. */
async function readThenAppendWhenAsked(name: string, then: (a: { fh: number }, buf: Buffer, ino: number) => Promise<unknown>): Promise<{ ino: number; a: { fh: number }; buf: Buffer }> {
  const ino = await put(name, 'hello');
  const a = await vfs.open(root, ino, O_RDONLY);
  const buf = Buffer.alloc(256);
  expect(await vfs.read(a.fh, 0, buf)).toBe(5);
  await attributesDue();
  during = {
    ino,
    change: async () => {
      await tv.vol.appendFile(`/${name}`, ' world');
      await then(a, buf, ino);
    },
  };
  return { ino, a, buf };
}

async function put(name: string, text: string): Promise<number> {
  const { fh, attr } = await vfs.create(root, ROOT_INODE, name, 0o644, O_WRONLY | O_TRUNC | O_CREAT);
  await vfs.write(fh, 0, Buffer.from(text));
  await vfs.release(fh);
  return attr.ino;
}

async function openAndRead(ino: number, change: () => Promise<unknown>): Promise<string> {
  during = { ino, change };
  const { fh } = await vfs.open(root, ino, O_RDONLY);
  expect(during).toBeNull();
  try {
    const buf = Buffer.alloc(256);
    const n = await vfs.read(fh, 0, buf);
    return buf.subarray(0, n).toString();
  } finally {
    await vfs.release(fh);
  }
}

describe('the first read after open', () => {
  it('shows a truncate this process made while the open read the attributes', async () => {
    const ino = await put('a', 'hello world');
    expect(await openAndRead(ino, () => vfs.setattr(root, ino, { size: 0 }))).toBe('');
  });

  it('shows a rewrite this process made meanwhile', async () => {
    const ino = await put('b', 'hello world');
    expect(await openAndRead(ino, async () => {
      const { fh } = await vfs.open(root, ino, O_WRONLY | O_TRUNC);
      await vfs.write(fh, 0, Buffer.from('abc'));
      await vfs.release(fh);
    })).toBe('abc');
  });

  it('shows what another handle wrote and flushed as it closed meanwhile', async () => {
    const ino = await put('c', 'hello');
    const { fh } = await vfs.open(root, ino, O_RDWR);
    await vfs.write(fh, 5, Buffer.from(' world, longer now'));
    expect(await openAndRead(ino, () => vfs.release(fh))).toBe('hello world, longer now');
  });

  it('does not set back what a handle already open has read since: another client\'s append stays in view', async () => {
    // B's open reads the length (5), then another client appends and A reads the longer file,
    // before B's open ends.
    const { ino, a, buf } = await readThenAppendWhenAsked('d', async (a, buf) => expect(await vfs.read(a.fh, 0, buf)).toBe(11));
    try {
      const b = await vfs.open(root, ino, O_RDONLY);
      await vfs.release(b.fh);
      expect(buf.subarray(0, await vfs.read(a.fh, 5, buf)).toString()).toBe(' world');
    } finally {
      await vfs.release(a.fh);
    }
  });

  it('a read\'s fetch that an open overtook is not kept for the reads after that open', async () => {
    // A's read asks for the attributes (5 bytes); before its answer is used, another client
    // appends and B opens the file (and sees 11 bytes).
    let b: { fh: number } | null = null;
    const { a, buf } = await readThenAppendWhenAsked('e', async (_a, _buf, ino) => {
      b = await vfs.open(root, ino, O_RDONLY);
    });
    try {
      await vfs.read(a.fh, 0, buf);
      expect(b).not.toBeNull();
      // Close-to-open: B reads what was there when it opened.
      expect(buf.subarray(0, await vfs.read(b!.fh, 0, buf)).toString()).toBe('hello world');
    } finally {
      if (b) await vfs.release((b as { fh: number }).fh);
      await vfs.release(a.fh);
    }
  });
});
