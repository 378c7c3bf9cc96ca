import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileObjectStore } from '../../src/object/file.js';
import { PrefixedObjectStore } from '../../src/object/prefix.js';
import { objectStoreConformance } from './conformance.js';
import { rejectionOf } from './rejection.js';

objectStoreConformance('prefix over file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-objects-'));
  const inner = await FileObjectStore.open(dir);
  // Neighbours sharing the directory must never show through.
  await inner.put('myvol-other/x', Buffer.from('n'));
  await inner.put('myvok/y', Buffer.from('n'));
  await inner.put('a', Buffer.from('n'));
  const store = new PrefixedObjectStore(inner, 'myvol');
  return { store, cleanup: () => rm(dir, { recursive: true, force: true }) };
});

describe('PrefixedObjectStore', () => {
  let dir: string;
  let inner: FileObjectStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strata-objects-'));
    inner = await FileObjectStore.open(dir);
  });

  afterEach(async () => {
    await inner.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('stores every key under the prefix and strips it when listing', async () => {
    const vol = new PrefixedObjectStore(inner, 'vol1');
    const other = new PrefixedObjectStore(inner, 'team/vol2/');
    await vol.put('chunks/0/0/1_0_4', Buffer.from('abcd'));
    await other.put('chunks/0/0/1_0_4', Buffer.from('wxyz'));
    expect((await inner.list()).objects.map((o) => o.key)).toEqual(['team/vol2/chunks/0/0/1_0_4', 'vol1/chunks/0/0/1_0_4']);
    expect((await vol.get('chunks/0/0/1_0_4')).toString()).toBe('abcd');
    expect((await other.get('chunks/0/0/1_0_4')).toString()).toBe('wxyz');
    expect(await vol.list({ prefix: 'chunks/', delimiter: '/' })).toEqual({ objects: [], prefixes: ['chunks/0/'], truncated: false });
    expect((await vol.head('chunks/0/0/1_0_4'))?.key).toBe('chunks/0/0/1_0_4');
    await vol.delete('chunks/0/0/1_0_4');
    expect((await other.list()).objects.map((o) => o.key)).toEqual(['chunks/0/0/1_0_4']);
  });

  it('describes itself as the inner location plus the prefix', () => {
    expect(new PrefixedObjectStore(inner, 'vol1').describe()).toBe(`${inner.describe()}vol1/`);
  });

  it('names the caller\'s key in errors, not the prefixed one', async () => {
    const vol = new PrefixedObjectStore(inner, 'vol1');
    const err = await rejectionOf(vol.get('missing'));
    expect(err).toMatchObject({ code: 'ENOENT', path: 'missing' });
    expect(err.message).not.toContain('vol1/missing');
    await expect(vol.put('../escape', Buffer.from('x'))).rejects.toMatchObject({ code: 'EINVAL' });
    expect((await inner.list()).objects).toEqual([]);
  });

  it('refuses bad prefixes, naming them', () => {
    for (const bad of ['', '/', '/abs', 'a/../b', 'a//b', 'a\0b']) {
      expect(() => new PrefixedObjectStore(inner, bad), JSON.stringify(bad)).toThrow(JSON.stringify(bad));
    }
  });
});
