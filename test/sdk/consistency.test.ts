// Several clients of one volume (like several processes): close-to-open consistency, open files
// that outlive their names, data reclaimed once nothing references it, volume lifecycle errors.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Volume } from '../../src/index.js';
import { makeVolume, type TestVolume } from './helpers.js';

let tv: TestVolume;

beforeAll(async () => {
  tv = await makeVolume({}, { blockSize: 64 * 1024 });
});

afterAll(async () => {
  await tv.cleanup();
});

async function objectFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else out.push(join(d, e.name));
    }
  };
  await walk(dir);
  return out;
}

async function until(cond: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('condition never became true');
}

describe('two clients', () => {
  it('a client that opens after another closed sees its data (close-to-open)', async () => {
    const other = await tv.open();
    const h = await tv.vol.open('/c2o', 'w');
    await h.write('first version');
    // Same process, same inode: read-your-writes before any close.
    expect(await tv.vol.readFile('/c2o', 'utf8')).toBe('first version');
    expect((await tv.vol.stat('/c2o')).size).toBe(13);
    await h.close();
    expect(await other.readFile('/c2o', 'utf8')).toBe('first version');
    await other.writeFile('/c2o', 'second');
    expect(await tv.vol.readFile('/c2o', 'utf8')).toBe('second');
    await other.close();
  });

  it('writeFile of a new file: another client sees it whole from the first moment, content spread over blocks; a race on the name leaves one winner', async () => {
    const other = await tv.open();
    const data = Buffer.alloc(200 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
    let seenEmpty = false;
    let watching = true;
    // A client polling the name never catches it created but not yet filled.
    const watcher = (async () => {
      while (watching) {
        const st = await other.stat('/whole').catch(() => null);
        if (st && st.size !== data.length) seenEmpty = true;
        await new Promise((r) => setImmediate(r));
      }
    })();
    await tv.vol.writeFile('/whole', data, { mode: 0o600 });
    watching = false;
    await watcher;
    expect(seenEmpty).toBe(false);
    expect(await other.readFile('/whole')).toEqual(data);
    expect((await other.stat('/whole')).mode & 0o777).toBe(0o600);
    expect((await tv.vol.info('/whole')).chunks[0].slices[0].keys.length).toBe(4);
    // Two clients creating one name at once: both succeed ('w'), the file holds one of the two.
    const a = Buffer.alloc(1000, 'a');
    const b = Buffer.alloc(2000, 'b');
    await Promise.all([tv.vol.writeFile('/raced', a), other.writeFile('/raced', b)]);
    const got = await tv.vol.readFile('/raced');
    expect(got.equals(a) || got.equals(b)).toBe(true);
    // With 'wx' exactly one wins and the other gets EEXIST.
    const results = await Promise.allSettled([tv.vol.writeFile('/excl', a, { flag: 'wx' }), other.writeFile('/excl', b, { flag: 'wx' })]);
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(1);
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as { code?: string }).code : 'ok')).sort()).toEqual(['EEXIST', 'ok']);
    await other.close();
  });

  it('an unlinked file stays readable through an open handle until the last close, then its objects go', async () => {
    const data = Buffer.alloc(300 * 1024, 7);
    await tv.vol.writeFile('/doomed', data);
    const info = await tv.vol.info('/doomed');
    expect(info.length).toBe(data.length);
    const keys = info.chunks.flatMap((c) => c.slices.flatMap((s) => s.keys));
    expect(keys.length).toBeGreaterThan(0);
    const before = await objectFiles(tv.storageDir);
    for (const k of keys) expect(before.some((f) => f.endsWith(k))).toBe(true);

    const reader = await tv.open();
    const h = await reader.open('/doomed');
    await tv.vol.unlink('/doomed');
    await expect(tv.vol.stat('/doomed')).rejects.toMatchObject({ code: 'ENOENT' });
    const back = Buffer.alloc(data.length);
    const { bytesRead } = await h.read(back, 0, back.length, 0);
    expect(bytesRead).toBe(data.length);
    expect(back.equals(data)).toBe(true);
    await h.close();
    await until(async () => {
      const now = await objectFiles(tv.storageDir);
      return keys.every((k) => !now.some((f) => f.endsWith(k)));
    });
    await reader.close();
  });

  it('overwriting a file frees the old data', async () => {
    await tv.vol.writeFile('/over', Buffer.alloc(128 * 1024, 1));
    const keys = (await tv.vol.info('/over')).chunks.flatMap((c) => c.slices.flatMap((s) => s.keys));
    await tv.vol.writeFile('/over', 'small');
    await until(async () => {
      const now = await objectFiles(tv.storageDir);
      return keys.every((k) => !now.some((f) => f.endsWith(k)));
    });
    expect(await tv.vol.readFile('/over', 'utf8')).toBe('small');
  });

  it('large writes across blocks read back exactly, with holes as zeros', async () => {
    const h = await tv.vol.open('/big', 'w+');
    const a = Buffer.alloc(200 * 1024);
    for (let i = 0; i < a.length; i++) a[i] = (i * 31) & 0xff;
    await h.write(a, 0, a.length, 0);
    await h.write(Buffer.from('tail'), 0, 4, 500 * 1024);
    await h.close();
    const back = await tv.vol.readFile('/big');
    expect(back.length).toBe(500 * 1024 + 4);
    expect(back.subarray(0, a.length).equals(a)).toBe(true);
    expect(back.subarray(a.length, 500 * 1024).every((b) => b === 0)).toBe(true);
    expect(back.subarray(500 * 1024).toString()).toBe('tail');
  });
});

describe('volume lifecycle', () => {
  it('refuses to open a volume that was never formatted, saying how to format it', async () => {
    const url = `sqlite3://${join(tv.dir, 'nothing-here.db')}`;
    await expect(Volume.open(url)).rejects.toThrow(/format/i);
  });

  it('refuses bad options with the option name', async () => {
    await expect(Volume.open(tv.metaUrl, { uid: -5 })).rejects.toThrow(/uid/);
  });

  it('close() flushes open handles and later calls fail', async () => {
    const v = await tv.open();
    const h = await v.open('/left-open', 'w');
    await h.write('flushed by close');
    await v.close();
    expect(await tv.vol.readFile('/left-open', 'utf8')).toBe('flushed by close');
    await expect(h.write('late')).rejects.toMatchObject({ code: 'EBADF' });
    await expect(v.stat('/')).rejects.toThrow(/volume is closed/);
  });
});

describe('xattrs and statfs', () => {
  it('set, get, list and remove user attributes', async () => {
    await tv.vol.writeFile('/x', 'x');
    await tv.vol.setxattr('/x', 'user.color', 'blue');
    expect((await tv.vol.getxattr('/x', 'user.color')).toString()).toBe('blue');
    expect(await tv.vol.listxattr('/x')).toContain('user.color');
    await expect(tv.vol.setxattr('/x', 'user.color', 'red', 1)).rejects.toMatchObject({ code: 'EEXIST', syscall: 'setxattr' });
    await expect(tv.vol.setxattr('/x', 'user.nope', 'red', 2)).rejects.toMatchObject({ code: 'ENODATA' });
    await tv.vol.removexattr('/x', 'user.color');
    await expect(tv.vol.getxattr('/x', 'user.color')).rejects.toMatchObject({ code: 'ENODATA', syscall: 'getxattr', path: '/x' });
    await expect(tv.vol.setxattr('/x', 'bogus.ns', 'v')).rejects.toMatchObject({ code: 'EOPNOTSUPP' });
  });

  it('statfs reports sizes and inode counts', async () => {
    const s = await tv.vol.statfs('/');
    expect(s.bsize).toBeGreaterThan(0);
    expect(s.files).toBeGreaterThan(0);
    expect(typeof (await tv.vol.statfs('/', { bigint: true })).blocks).toBe('bigint');
  });

  it('stat with bigint gives nanosecond times', async () => {
    const s = await tv.vol.stat('/x', { bigint: true });
    expect(typeof s.mtimeNs).toBe('bigint');
    expect(s.isFile()).toBe(true);
    expect(s.mtimeMs).toBe(s.mtimeNs / 1_000_000n);
  });

  it('readdir hides the trash directory at the root', async () => {
    const names = await tv.vol.readdir('/');
    expect(names.some((n) => n.startsWith('.trash'))).toBe(false);
  });

  it('cp copies a tree', async () => {
    await tv.vol.mkdir('/tree/a/b', { recursive: true });
    await tv.vol.writeFile('/tree/a/b/f', 'leaf');
    await tv.vol.symlink('b/f', '/tree/a/link');
    await tv.vol.cp('/tree', '/copy', { recursive: true });
    expect(await tv.vol.readFile('/copy/a/b/f', 'utf8')).toBe('leaf');
    expect(await tv.vol.readlink('/copy/a/link')).toBe('b/f');
    await expect(tv.vol.cp('/tree', '/tree/a/inside', { recursive: true })).rejects.toMatchObject({ code: 'ERR_FS_CP_EINVAL' });
    await expect(tv.vol.cp('/tree', '/copy2')).rejects.toMatchObject({ code: 'ERR_FS_EISDIR' });
  });
});
