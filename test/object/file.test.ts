import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allocBuffer, releaseBuffer } from '../../src/hotpath/index.js';
import { hot } from '../../src/hotpath/memory.js';
import { FileObjectStore, TEMP_PREFIX, createFileObjectStore } from '../../src/object/file.js';
import { objectStoreConformance } from './conformance.js';
import { rejectionOf } from './rejection.js';

objectStoreConformance('file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-objects-'));
  const store = await FileObjectStore.open(dir);
  return { store, cleanup: () => rm(dir, { recursive: true, force: true }) };
});

/** Every file and directory under `dir`, relative, sorted. */
async function tree(dir: string): Promise<string[]> {
  const out = await readdir(dir, { recursive: true });
  return out.sort();
}

describe('FileObjectStore (local directory specifics)', () => {
  let dir: string;
  let store: FileObjectStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strata-objects-'));
    store = await FileObjectStore.open(dir);
  });

  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps key a/b/c as the file <root>/a/b/c with exactly the bytes put', async () => {
    const data = randomBytes(5000);
    await store.put('chunks/0/1/1001_0_5000', data);
    expect((await readFile(join(dir, 'chunks/0/1/1001_0_5000'))).equals(data)).toBe(true);
    expect(await tree(dir)).toEqual(['chunks', 'chunks/0', 'chunks/0/1', 'chunks/0/1/1001_0_5000']);
  });

  it('leaves no temp files after puts, overwrites and failed puts', async () => {
    await store.put('x/y', Buffer.from('1'));
    await store.put('x/y', [Buffer.from('2'), Buffer.from('3')]);
    await expect(store.put('x/y/z', Buffer.from('cannot'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    expect(await tree(dir)).toEqual(['x', 'x/y']);
    expect(await readFile(join(dir, 'x/y'), 'utf8')).toBe('23');
  });

  it('never lists temp files left by a crashed writer, and reads around them', async () => {
    await store.put('a/b', Buffer.from('kept'));
    await writeFile(join(dir, 'a', `${TEMP_PREFIX}123-1-abc`), 'half a block');
    await writeFile(join(dir, `${TEMP_PREFIX}9-9-def`), 'half a block');
    await mkdir(join(dir, `${TEMP_PREFIX}dir`));
    const page = await store.list();
    expect(page.objects.map((o) => o.key)).toEqual(['a/b']);
    expect((await store.list({ delimiter: '/' })).prefixes).toEqual(['a/']);
    expect((await store.get('a/b')).toString()).toBe('kept');
  });

  it('refuses keys that use the temp-file prefix, writing nothing', async () => {
    for (const key of [`${TEMP_PREFIX}x`, `a/${TEMP_PREFIX}1/b`]) {
      await expect(store.put(key, Buffer.from('x'))).rejects.toMatchObject({ code: 'EINVAL' });
      await expect(store.get(key)).rejects.toMatchObject({ code: 'EINVAL' });
    }
    expect(await tree(dir)).toEqual([]);
  });

  it('removes directories a delete leaves empty, but not the root or non-empty ones', async () => {
    await store.put('p/q/r/one', Buffer.from('1'));
    await store.put('p/two', Buffer.from('2'));
    await store.delete('p/q/r/one');
    expect(await tree(dir)).toEqual(['p', 'p/two']);
    await store.delete('p/two');
    expect(await tree(dir)).toEqual([]);
    expect((await stat(dir)).isDirectory()).toBe(true);
  });

  it('explains that a key cannot sit where another key needs a directory', async () => {
    await store.put('a', Buffer.from('file'));
    const err = await rejectionOf(store.put('a/b', Buffer.from('x')));
    expect(err).toMatchObject({ code: 'ENOTDIR', path: 'a/b', syscall: 'put' });
    expect(err.message).toContain('cannot hold this key');
    await store.put('c/d', Buffer.from('x'));
    await expect(store.put('c', Buffer.from('y'))).rejects.toMatchObject({ code: 'EISDIR', path: 'c' });
    expect((await store.get('a')).toString()).toBe('file');
    expect((await store.list()).objects.map((o) => o.key)).toEqual(['a', 'c/d']);
  });

  it('reads straight into a buffer that lives in WebAssembly memory', async () => {
    const data = randomBytes(64 * 1024);
    await store.put('wasm', data);
    const buf = allocBuffer(64 * 1024 + 100);
    try {
      // A boolean, not toBe(): a failure would make vitest print all 4 GiB of WASM memory.
      expect(hot().owns(buf), 'the buffer lies in WASM memory').toBe(true);
      expect(await store.getInto('wasm', 0, buf)).toBe(data.length);
      expect(buf.subarray(0, data.length).equals(data)).toBe(true);
      expect(await store.getInto('wasm', 1000, buf.subarray(0, 10))).toBe(10);
      expect(buf.subarray(0, 10).equals(data.subarray(1000, 1010))).toBe(true);
    } finally {
      releaseBuffer(buf);
    }
  });

  it('describes itself as a file: URL of its root', async () => {
    expect(store.describe()).toBe(`${pathToFileURL(dir).href}/`);
  });

  it('fails with EBADF once closed', async () => {
    await store.put('k', Buffer.from('v'));
    await store.close();
    await expect(store.get('k')).rejects.toMatchObject({ code: 'EBADF' });
    await expect(store.put('k2', Buffer.from('v'))).rejects.toMatchObject({ code: 'EBADF' });
    await expect(store.list()).rejects.toMatchObject({ code: 'EBADF' });
    expect(await tree(dir)).toEqual(['k']);
  });
});

describe('FileObjectStore.open', () => {
  let base: string;
  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'strata-objects-open-'));
  });
  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('refuses a missing directory unless asked to create it, naming the path', async () => {
    const missing = join(base, 'not', 'there');
    const err = await rejectionOf(FileObjectStore.open(missing));
    expect(err).toMatchObject({ code: 'ENOENT', path: missing });
    expect(err.message).toContain(missing);
    const s = await FileObjectStore.open(missing, { create: true });
    expect((await stat(missing)).isDirectory()).toBe(true);
    await s.close();
    const s2 = await createFileObjectStore(join(base, 'other'));
    await s2.put('k', Buffer.from('v'));
    expect(await readFile(join(base, 'other', 'k'), 'utf8')).toBe('v');
  });

  it('refuses a path that is a file, and nonsense paths', async () => {
    const file = join(base, 'f');
    await writeFile(file, 'x');
    await expect(FileObjectStore.open(file)).rejects.toMatchObject({ code: 'ENOTDIR', path: file });
    await expect(FileObjectStore.open('')).rejects.toBeInstanceOf(TypeError);
    await expect(FileObjectStore.open('a\0b')).rejects.toBeInstanceOf(TypeError);
  });

  it('resolves a relative root against the working directory', async () => {
    const s = new FileObjectStore('relative/dir');
    expect(s.root).toBe(join(process.cwd(), 'relative/dir'));
  });
});
