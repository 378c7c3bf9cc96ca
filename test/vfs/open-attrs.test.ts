// open() reads a file's attributes, and the reads after it start from what it read. A change this
// process makes to the file while the open is under way must still show on the first read: a
// truncate, a rewrite, or the flush of another handle's writes as it closes. Each change is held
// right inside open's attribute read (a hook on this vfs's metadata calls), the place where two
// calls running at once can meet.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { O_CREAT, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, ROOT_INODE } from '../../src/vfs/constants.js';
import type { MetaPort } from '../../src/vfs/meta-port.js';
import type { Caller } from '../../src/vfs/permissions.js';
import { Vfs } from '../../src/vfs/vfs.js';
import { makeVolume, type TestVolume } from '../sdk/helpers.js';

const root: Caller = { uid: 0, gid: 0, gids: [] };

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
  vfs = await Vfs.start(meta, tv.vol.vfs.store);
});

afterAll(async () => {
  await vfs?.close();
  await tv?.cleanup();
});

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
});
